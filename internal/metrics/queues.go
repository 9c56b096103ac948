package metrics

import (
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// queueCollector reads asynq's queue sizes at scrape time. The queues are
// shared by every replica, so every replica reports the same values: sum
// them with max(), not sum(), across replicas.
type queueCollector struct {
	inspector *asynq.Inspector
	tasks     *prometheus.Desc
	latency   *prometheus.Desc
}

// WatchQueues adds the asynq queue sizes (leadworker_queue_tasks{queue,state})
// and the age of each queue's oldest pending task
// (leadworker_queue_latency_seconds{queue}).
func (m *Metrics) WatchQueues(inspector *asynq.Inspector) {
	m.Registry.MustRegister(&queueCollector{inspector: inspector,
		tasks:   prometheus.NewDesc("leadworker_queue_tasks", "Tasks in each asynq queue, by state.", []string{"queue", "state"}, nil),
		latency: prometheus.NewDesc("leadworker_queue_latency_seconds", "Age of the oldest pending task in each queue.", []string{"queue"}, nil),
	})
}

// Describe implements prometheus.Collector.
func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.tasks
	ch <- c.latency
}

// Collect implements prometheus.Collector; queues it cannot read are left
// out of the scrape.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	names, err := c.inspector.Queues()
	if err != nil {
		return
	}
	for _, q := range names {
		info, err := c.inspector.GetQueueInfo(q)
		if err != nil {
			continue
		}
		for state, n := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived, "completed": info.Completed} {
			ch <- prometheus.MustNewConstMetric(c.tasks, prometheus.GaugeValue, float64(n), q, state)
		}
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, info.Latency.Seconds(), q)
	}
}
