package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/vantagescan/vantage/internal/store"
)

// writer persists a scan's rows in batches off the engine's goroutine: the
// engine never waits for the disk, and a burst of rows becomes one
// transaction.
type writer struct {
	st  store.Store
	id  string
	log *slog.Logger

	mu      sync.Mutex
	pending []store.Result
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func newWriter(st store.Store, id string, log *slog.Logger) *writer {
	w := &writer{st: st, id: id, log: log, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

func (w *writer) add(r store.Result) {
	w.mu.Lock()
	w.pending = append(w.pending, r)
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// close writes what is pending and returns when it is stored.
func (w *writer) close() {
	close(w.stop)
	<-w.done
}

func (w *writer) loop() {
	defer close(w.done)
	for {
		select {
		case <-w.kick:
			w.flush()
		case <-w.stop:
			w.flush()
			return
		}
	}
}

func (w *writer) flush() {
	w.mu.Lock()
	batch := w.pending
	w.pending = nil
	w.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.st.AddResults(ctx, w.id, batch); err != nil {
		// The page still shows the rows live; only a later reload would
		// miss them. Say so in the log, loudly.
		w.log.Error("persist results", "id", w.id, "rows", len(batch), "err", err)
	}
}
