package store

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// RunPurger enforces retention: at once and then every `every` it deletes
// the scans created more than keep ago, until ctx is done, and then returns.
// Run it in its own goroutine. A non-positive every or keep is a
// configuration mistake: it is logged and RunPurger returns at once rather
// than purging everything or spinning. log may be nil. Cancel ctx and wait
// for RunPurger to return before closing the store.
func (s *SQLite) RunPurger(ctx context.Context, every, keep time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String("component", "store.purger"))
	if every <= 0 || keep <= 0 {
		log.Error("retention purger not started: interval and retention must be positive",
			slog.Duration("every", every), slog.Duration("keep", keep))
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.purgeOnce(ctx, keep, log)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *SQLite) purgeOnce(ctx context.Context, keep time.Duration, log *slog.Logger) {
	before := time.Now().Add(-keep)
	n, err := s.Purge(ctx, before)
	switch {
	case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
		// Shutting down; not a failure worth reporting.
	case err != nil:
		log.Error("purge failed", slog.Any("err", err))
	case n > 0:
		log.Info("purged old scans", slog.Int("scans", n), slog.Time("created_before", before))
	}
}
