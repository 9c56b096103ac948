// Package store keeps leadworker's leads in Redis: a hash per lead, the
// listing indexes, the time indexes the maintenance jobs sweep (so a sweep
// costs in proportion to what is due), partners, the Action Center feeds,
// digests and the record of pending work. Every change of a lead's state is
// one Lua script (lua/*.lua, registered in scripts.go) that re-checks the
// lead's state, so racing changes cannot both win and nothing is ever half
// written. keys.go names every key.
package store
