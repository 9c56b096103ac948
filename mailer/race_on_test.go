//go:build race

package mailer

const raceDetector = true
