package api

import (
	"context"
	"net/http"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/mailer"
)

// statusJSON is where a send stands: the keys of `status --json` (issue,
// total, sent, failed, skipped, pending …) plus rate and ETA.
type statusJSON struct {
	Issue int64 `json:"issue"`
	mailer.Counts
	State      string           `json:"state"`
	Reason     string           `json:"reason"`
	StartedAt  *string          `json:"started_at"`
	FinishedAt *string          `json:"finished_at"`
	Rate       float64          `json:"rate"`
	ETASeconds int              `json:"eta_seconds"`
	Bounces    int              `json:"bounces"`
	Failures   []mailer.Failure `json:"failures"`
}

// postSend hands the issue to the daemon: 202, the send runs there.
func postSend(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	n, err := s.ops.SendNow(r.Context(), a, id)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/issues/"+r.PathValue("id")+"/status")
	return writeJSON(w, http.StatusAccepted, map[string]any{"issue": id, "recipients": n})
}

// sendControl runs pause, resume or cancel and answers the status after it.
func sendControl(op func(*server, context.Context, tidings.Actor, int64) error) handlerFunc {
	return func(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := op(s, r.Context(), a, id); err != nil {
			return err
		}
		return s.writeStatus(w, r, a, id)
	}
}

var (
	postPause = sendControl(func(s *server, ctx context.Context, a tidings.Actor, id int64) error {
		return s.ops.PauseSend(ctx, a, id)
	})
	postResume = sendControl(func(s *server, ctx context.Context, a tidings.Actor, id int64) error {
		return s.ops.ResumeSend(ctx, a, id)
	})
	postCancel = sendControl(func(s *server, ctx context.Context, a tidings.Actor, id int64) error {
		return s.ops.CancelSend(ctx, a, id)
	})
	// postRetry re-queues the deliveries that failed temporarily or at
	// the relay, as `tidings send --retry-failed`; the daemon sends them.
	postRetry = sendControl(func(s *server, ctx context.Context, a tidings.Actor, id int64) error {
		_, err := s.ops.RetryFailed(ctx, a, id)
		return err
	})
)

func getStatus(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.writeStatus(w, r, a, id)
}

// writeStatus answers the status of a send with its latest 20 failures
// (?failures=N for more).
func (s *server) writeStatus(w http.ResponseWriter, r *http.Request, a tidings.Actor, id int64) error {
	n, err := queryInt(r, "failures", 20, 0, 1000)
	if err != nil {
		return err
	}
	st, err := s.ops.Status(r.Context(), a, id, n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, statusJSON{
		Issue: id, Counts: st.Counts, State: st.State, Reason: st.Reason,
		StartedAt: timeOrNil(st.StartedAt), FinishedAt: timeOrNil(st.FinishedAt),
		Rate: st.Rate, ETASeconds: int(st.ETA.Seconds()), Bounces: st.Bounces,
		Failures: orEmpty(st.Failures),
	})
}
