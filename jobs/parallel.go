package jobs

import (
	"errors"
	"sync"
)

// parallel runs fn for each item with up to 16 goroutines and returns the
// first error.
func parallel[T any](items []T, fn func(T) error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		work = make(chan T)
	)
	for range min(16, len(items)) {
		wg.Go(func() {
			for it := range work {
				if err := fn(it); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, it := range items {
		work <- it
	}
	close(work)
	wg.Wait()
	return errors.Join(errs...)
}
