package app

import (
	"context"
	"errors"
	"maps"
	"sync"

	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
	"github.com/polku-hb/polku/services/catalogue/internal/projection"
	repo "github.com/polku-hb/polku/services/catalogue/internal/store"
)

// UseProjection makes searches answer from an in-memory projection of the
// search indexes, loaded on the first search. Call before serving.
func (s *Service) UseProjection() { s.proj = projection.New(repo.Shards) }

// LoadProjection loads the projection now (at start, so that no search waits
// for it); without a projection it does nothing.
func (s *Service) LoadProjection(ctx context.Context) error {
	if s.proj == nil {
		return nil
	}
	return s.syncProjection(ctx)
}

// syncProjection brings the projection up to date with the store before a
// search: one read of every shard's change sequence (8 small reads, in
// parallel); only shards that moved are read further (the offerings filed in
// s:chg after the projection's sequence, and their index entries). So a search
// sees every change committed before it started, on any replica: a provider
// sees its own publish at once and replicas never diverge for longer than one
// search.
func (s *Service) syncProjection(ctx context.Context) error {
	seqs, err := s.repo.SearchSeqs(ctx)
	if err != nil {
		return err
	}
	if s.projLoaded.Load() && !s.behind(seqs) {
		return nil
	}
	s.projMu.Lock()
	defer s.projMu.Unlock()
	if !s.projLoaded.Load() {
		if err := s.loadProjection(ctx, seqs); err != nil {
			return err
		}
		s.projLoaded.Store(true)
		return nil
	}
	return s.eachShard(func(sh int) error {
		have := s.proj.Seq(sh)
		if seqs[sh] <= have {
			return nil
		}
		ids, top, err := s.repo.SearchChanges(ctx, sh, have)
		if err != nil {
			return err
		}
		refs, err := s.repo.IndexRefs(ctx, sh, ids)
		if err != nil {
			return err
		}
		// Every change up to seqs[sh] was visible to the scan (sequence and
		// s:chg entry are written in one batch), and later ones seen are applied.
		s.proj.Apply(sh, max(top, seqs[sh]), refs)
		return nil
	})
}

func (s *Service) behind(seqs []int64) bool {
	for sh, n := range seqs {
		if n > s.proj.Seq(sh) {
			return true
		}
	}
	return false
}

// loadProjection fills the projection from the compact s:proj entry of every
// live offering (one index scan per shard, in parallel), as of the sequences
// read before (later changes are picked up by the next sync). Live offerings
// written before s:proj existed are read from their recorded index entries.
func (s *Service) loadProjection(ctx context.Context, seqs []int64) error {
	return s.eachShard(func(sh int) error {
		entries, err := s.repo.ScanShard(ctx, sh, projection.Index)
		if err != nil {
			return err
		}
		refs := make(map[string][]catalogue.IndexRef, len(entries))
		for _, e := range entries {
			refs[e.SortKey] = []catalogue.IndexRef{{Index: projection.Index, SortKey: e.SortKey, ID: e.ID}}
		}
		live, err := s.repo.ScanShard(ctx, sh, "s:live")
		if err != nil {
			return err
		}
		var older []string
		for _, e := range live {
			if id := catalogue.SummaryID(e.ID); refs[id] == nil {
				older = append(older, id)
			}
		}
		more, err := s.repo.IndexRefs(ctx, sh, older)
		if err != nil {
			return err
		}
		maps.Copy(refs, more)
		s.proj.Apply(sh, seqs[sh], refs)
		return nil
	})
}

func (s *Service) eachShard(fn func(shard int) error) error {
	errs := make([]error, repo.Shards)
	var wg sync.WaitGroup
	for sh := range repo.Shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[sh] = fn(sh)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
