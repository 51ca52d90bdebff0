package app

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/polku-hb/polku/services/assessment/internal/assessment"
	repo "github.com/polku-hb/polku/services/assessment/internal/store"
)

// AssessmentName is an assessment's resource name.
func AssessmentName(clientID, id string) string { return "clients/" + clientID + "/assessments/" + id }

// AssessmentView is an assessment with its document version (the etag).
type AssessmentView struct {
	A       *assessment.Assessment
	Version int64
}

// CreateAssessment records a new DRAFT assessment.
func (s *Service) CreateAssessment(ctx context.Context, clientID string, in *assessment.Assessment, requestID string) (AssessmentView, error) {
	p, err := s.authorize(ctx, clientID, write)
	if err != nil {
		return AssessmentView{}, err
	}
	a := in.Copy()
	a.ClientID = clientID
	a.AssignNeedIDs()
	if err := errors.Join(assessment.ValidateAssessment(a, "assessment."), checkRequestID(requestID)); err != nil {
		return AssessmentView{}, firstViolations(err)
	}
	if requestID != "" {
		if id, ok, err := s.repo.RequestResult(ctx, clientID, "CreateAssessment", requestID); err != nil {
			return AssessmentView{}, err
		} else if ok {
			return s.GetAssessment(ctx, clientID, id, 0)
		}
	}
	now := s.now()
	a.ID, a.State, a.Version, a.Corrections, a.Author = newID(), assessment.AssessmentDraft, 1, nil, p.Subject
	a.CreateTime, a.UpdateTime = now, now
	name := AssessmentName(clientID, a.ID)
	w := repo.NewWrite(clientID).Assessment(a, 0).Request("CreateAssessment", requestID, a.ID).
		Emit(s.event(ctx, p, "assessment.created", clientID, name, map[string]string{"assessment": name, "kind": a.Kind}))
	if err := s.repo.Commit(ctx, w); err != nil {
		return AssessmentView{}, notFound(err)
	}
	return AssessmentView{A: a, Version: 1}, nil
}

// GetAssessment reads the latest version, or an earlier completed version.
func (s *Service) GetAssessment(ctx context.Context, clientID, id string, version int) (AssessmentView, error) {
	if _, err := s.authorize(ctx, clientID, read); err != nil {
		return AssessmentView{}, err
	}
	a, v, err := s.repo.Assessment(ctx, clientID, id)
	if err != nil {
		return AssessmentView{}, notFound(err)
	}
	if version < 0 {
		return AssessmentView{}, assessment.Violations{{Field: "version", Rule: "must not be negative"}}
	}
	if version == 0 || version == a.Version {
		return AssessmentView{A: a, Version: v}, nil
	}
	old, err := s.repo.AssessmentVersion(ctx, clientID, id, version)
	if err != nil {
		return AssessmentView{}, notFound(err)
	}
	return AssessmentView{A: old, Version: v}, nil
}

// ListAssessments pages a client's assessments (latest versions), newest first.
func (s *Service) ListAssessments(ctx context.Context, clientID string, size int32, token string) ([]AssessmentView, string, error) {
	if _, err := s.authorize(ctx, clientID, read); err != nil {
		return nil, "", err
	}
	n, after, query, err := page(size, token, "asmts:"+clientID)
	if err != nil {
		return nil, "", err
	}
	pg, err := s.repo.AssessmentIDs(ctx, clientID, after, n)
	if err != nil {
		return nil, "", err
	}
	out := make([]AssessmentView, 0, len(pg.Entries))
	for _, e := range pg.Entries {
		a, v, err := s.repo.Assessment(ctx, clientID, e.ID)
		if err != nil {
			return nil, "", notFound(err)
		}
		out = append(out, AssessmentView{A: a, Version: v})
	}
	return out, nextToken(pg, query), nil
}

func checkMask(fields []string) error {
	var vs assessment.Violations
	if len(fields) == 0 {
		vs.Add("update_mask", "is required")
	}
	for _, f := range fields {
		if !contains(assessment.AssessmentFields, f) {
			vs.Add("update_mask", "field "+f+" cannot be changed ("+strings.Join(assessment.AssessmentFields, ", ")+")")
		}
	}
	return vs.Err()
}

// UpdateAssessment changes a DRAFT assessment.
func (s *Service) UpdateAssessment(ctx context.Context, clientID, id, etag string, in *assessment.Assessment, fields []string) (AssessmentView, error) {
	p, err := s.authorize(ctx, clientID, write)
	if err != nil {
		return AssessmentView{}, err
	}
	if err := checkMask(fields); err != nil {
		return AssessmentView{}, err
	}
	a, v, err := s.repo.Assessment(ctx, clientID, id)
	if err != nil {
		return AssessmentView{}, notFound(err)
	}
	if err := checkEtag(etag, v, true); err != nil {
		return AssessmentView{}, err
	}
	if a.State != assessment.AssessmentDraft {
		return AssessmentView{}, &assessment.TransitionError{Kind: "assessment", From: a.State, Allowed: []string{}}
	}
	a.Apply(in, fields)
	a.AssignNeedIDs()
	if err := assessment.ValidateAssessment(a, "assessment."); err != nil {
		return AssessmentView{}, err
	}
	a.UpdateTime = s.now()
	name := AssessmentName(clientID, id)
	w := repo.NewWrite(clientID).Assessment(a, v).
		Emit(s.event(ctx, p, "assessment.updated", clientID, name, map[string]string{"assessment": name, "fields": strings.Join(fields, ",")}))
	if err := s.repo.Commit(ctx, w); err != nil {
		return AssessmentView{}, notFound(err)
	}
	return AssessmentView{A: a, Version: v + 1}, nil
}

// CompleteAssessment moves DRAFT to COMPLETED; version 1 is kept as a snapshot.
func (s *Service) CompleteAssessment(ctx context.Context, clientID, id, etag, requestID string) (AssessmentView, error) {
	p, err := s.authorize(ctx, clientID, write)
	if err != nil {
		return AssessmentView{}, err
	}
	if err := checkRequestID(requestID); err != nil {
		return AssessmentView{}, err
	}
	if requestID != "" {
		if _, ok, err := s.repo.RequestResult(ctx, clientID, "CompleteAssessment", requestID); err != nil {
			return AssessmentView{}, err
		} else if ok {
			return s.GetAssessment(ctx, clientID, id, 0)
		}
	}
	a, v, err := s.repo.Assessment(ctx, clientID, id)
	if err != nil {
		return AssessmentView{}, notFound(err)
	}
	if err := checkEtag(etag, v, false); err != nil {
		return AssessmentView{}, err
	}
	if err := assessment.CheckAssessmentTransition(a.State, assessment.AssessmentCompleted); err != nil {
		return AssessmentView{}, err
	}
	now := s.now()
	a.State, a.CompleteTime, a.UpdateTime = assessment.AssessmentCompleted, now, now
	name := AssessmentName(clientID, id)
	w := repo.NewWrite(clientID).Assessment(a, v).AssessmentSnapshot(a).Request("CompleteAssessment", requestID, id).
		Emit(s.event(ctx, p, "assessment.completed", clientID, name, map[string]string{"assessment": name, "kind": a.Kind}))
	if err := s.repo.Commit(ctx, w); err != nil {
		return AssessmentView{}, notFound(err)
	}
	return AssessmentView{A: a, Version: v + 1}, nil
}

// CorrectAssessment makes a new version of a COMPLETED assessment with the
// changed fields and the reason; earlier versions stay readable.
func (s *Service) CorrectAssessment(ctx context.Context, clientID, id, etag string, in *assessment.Assessment, fields []string, reason, requestID string) (AssessmentView, error) {
	p, err := s.authorize(ctx, clientID, write)
	if err != nil {
		return AssessmentView{}, err
	}
	if err := errors.Join(checkMask(fields), assessment.CheckReason("reason", reason), checkRequestID(requestID)); err != nil {
		return AssessmentView{}, firstViolations(err)
	}
	if requestID != "" {
		if _, ok, err := s.repo.RequestResult(ctx, clientID, "CorrectAssessment", requestID); err != nil {
			return AssessmentView{}, err
		} else if ok {
			return s.GetAssessment(ctx, clientID, id, 0)
		}
	}
	a, v, err := s.repo.Assessment(ctx, clientID, id)
	if err != nil {
		return AssessmentView{}, notFound(err)
	}
	if err := checkEtag(etag, v, false); err != nil {
		return AssessmentView{}, err
	}
	if a.State != assessment.AssessmentCompleted {
		// Drafts are edited with UpdateAssessment; the only next state is COMPLETED.
		return AssessmentView{}, &assessment.TransitionError{Kind: "assessment", From: a.State, Allowed: []string{assessment.AssessmentCompleted}}
	}
	a.Apply(in, fields)
	a.AssignNeedIDs()
	if err := assessment.ValidateAssessment(a, "assessment."); err != nil {
		return AssessmentView{}, err
	}
	now := s.now()
	a.Version++
	a.Corrections = append(a.Corrections, assessment.Correction{Version: a.Version, Reason: reason, Fields: fields, CorrectedBy: p.Subject, CorrectTime: now})
	a.UpdateTime = now
	name := AssessmentName(clientID, id)
	w := repo.NewWrite(clientID).Assessment(a, v).AssessmentSnapshot(a).Request("CorrectAssessment", requestID, id).
		Emit(s.event(ctx, p, "assessment.corrected", clientID, name, map[string]string{
			"assessment": name, "version": strconv.Itoa(a.Version), "fields": strings.Join(fields, ",")}))
	if err := s.repo.Commit(ctx, w); err != nil {
		return AssessmentView{}, notFound(err)
	}
	return AssessmentView{A: a, Version: v + 1}, nil
}
