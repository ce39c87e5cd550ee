package mailer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// An editor may hold a send (sends.held_by, written by package ops):
// "pause:WHO" until resumed, or "cancel:WHO" for good. The engine neither
// starts nor goes on with a held send; a run in progress notices the hold
// before its next claim and pauses, letting messages in flight finish.

// holdReason is why the send of issueID is held, "" when it is not.
func holdReason(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, issueID int64) (string, error) {
	var held string
	err := q.QueryRowContext(ctx, `SELECT held_by FROM sends WHERE issue_id = ?`, issueID).Scan(&held)
	if errors.Is(err, sql.ErrNoRows) || held == "" {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("send of issue %d: %w", issueID, err)
	}
	kind, who, _ := strings.Cut(held, ":")
	if kind == "cancel" {
		return "cancelled by " + who, nil
	}
	return "paused by " + who + " (resume it in the console or the API)", nil
}

// checkHold refuses to start a held send with ErrPaused.
func (e *Engine) checkHold(ctx context.Context, rep *Report) error {
	reason, err := holdReason(ctx, e.deps.DB.R, rep.IssueID)
	if err != nil || reason == "" {
		return err
	}
	rep.Paused, rep.Reason = true, reason
	return fmt.Errorf("%w: %s", ErrPaused, reason)
}

// heldByEditor pauses the run when an editor has held its send since it started;
// it reports whether the run must stop claiming.
func (r *run) heldByEditor() bool {
	reason, err := holdReason(r.stopCtx, r.e.deps.DB.R, r.camp.IssueID)
	if err != nil || reason == "" {
		return false // a failed look is no hold; the next claim looks again
	}
	r.pause(reason)
	return true
}
