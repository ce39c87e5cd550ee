// settings.go holds the settings a send is carried out with: recorded in
// its sends row when it starts, compared by every process before it claims
// a row, so that no message of a send goes out with settings its operator
// did not choose.

package mailer

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// ErrSettingsDiffer: the send was started (or resumed) with other
// settings than this process's; it refuses to carry any of it out.
var ErrSettingsDiffer = errors.New("send settings differ")

// errSettingsChanged: another process took the send over with its own
// settings while this one ran; this one stops claiming.
var errSettingsChanged = fmt.Errorf("%w: another process took the send over with its own settings", ErrSettingsDiffer)

// Settings describe how a send's messages go out: the relays, the DKIM
// key, the rate and the connections. Passwords and private keys are never
// part of it (relays are redacted URLs, keys a fingerprint), so it can be
// stored in the sends row and shown. The HELO name is not part of it: a
// standby daemon on another machine names itself differently but sends
// exactly the same mail.
//
// Concurrency is recorded but not compared: it is how many connections
// each process opens (a CLI send may join a daemon's with fewer), while
// the relays, the key and the rate decide how each message goes out.
type Settings struct {
	Relays      []string `json:"relays"`
	DKIM        string   `json:"dkim"` // "none", or "list|process SELECTOR d=DOMAIN sha256:…"
	Rate        float64  `json:"rate"`
	Concurrency int      `json:"concurrency"`
}

// Fingerprint is a short hash of the settings; two processes may share a
// send only when theirs are equal.
func (s Settings) Fingerprint() string {
	s.Concurrency = 0
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// Diff names, in one line, what differs between the recorded settings a
// and this process's b.
func (a Settings) Diff(b Settings) string {
	var parts []string
	add := func(what, x, y string) {
		parts = append(parts, fmt.Sprintf("%s: the send's %s, this process's %s", what, x, y))
	}
	if !slices.Equal(a.Relays, b.Relays) {
		add("relays", strings.Join(a.Relays, " "), strings.Join(b.Relays, " "))
	}
	if a.DKIM != b.DKIM {
		add("DKIM", a.DKIM, b.DKIM)
	}
	if a.Rate != b.Rate {
		add("rate", strconv.FormatFloat(a.Rate, 'g', -1, 64), strconv.FormatFloat(b.Rate, 'g', -1, 64))
	}
	return strings.Join(parts, "; ")
}

// SettingsError is a refusal to carry out a send with this process's
// settings. Holder, when set, is the process sending it now.
type SettingsError struct {
	IssueID  int64
	Recorded Settings // the send's
	Ours     Settings // this process's
	Holder   string
}

func (e *SettingsError) Error() string {
	if e.Holder != "" {
		return fmt.Sprintf("issue %d: %v: %s is sending it now (%s); use the same settings, or stop it first",
			e.IssueID, ErrSettingsDiffer, e.Holder, e.Recorded.Diff(e.Ours))
	}
	return fmt.Sprintf("issue %d: %v: it was started with other settings (%s); 'tidings send %d' resumes it with the settings of that command",
		e.IssueID, ErrSettingsDiffer, e.Recorded.Diff(e.Ours), e.IssueID)
}

func (e *SettingsError) Unwrap() error { return ErrSettingsDiffer }

// relaySetting is a relay as the settings name it: its redacted URL with
// the parameters that change where and how fast mail goes.
func relaySetting(r Relay) string {
	q := url.Values{}
	if r.TLS == TLSRequired || r.TLS == TLSNone {
		q.Set("tls", string(r.TLS))
	}
	if r.Conns > 0 {
		q.Set("conns", strconv.Itoa(r.Conns))
	}
	if r.Rate > 0 {
		q.Set("rate", strconv.FormatFloat(r.Rate, 'g', -1, 64))
	}
	if r.Hourly > 0 {
		q.Set("hourly", strconv.Itoa(r.Hourly))
	}
	s := r.Redacted()
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// keyFor is the key that signs the campaign's mail: the list's own, else
// the process's; nil when neither exists. source says which.
func (e *Engine) keyFor(camp *Campaign) (k *DKIM, source string) {
	if camp.DKIM != nil {
		return camp.DKIM, "list"
	}
	if e.cfg.DKIM != nil {
		return e.cfg.DKIM, "process"
	}
	return nil, ""
}

// settingsFor are this process's settings for a campaign.
func (e *Engine) settingsFor(camp *Campaign) Settings {
	s := Settings{DKIM: "none", Rate: e.cfg.Rate, Concurrency: e.cfg.Concurrency}
	for _, r := range e.cfg.Relays {
		s.Relays = append(s.Relays, relaySetting(r))
	}
	slices.Sort(s.Relays) // the order relays are given in changes nothing of how mail goes
	if k, src := e.keyFor(camp); k != nil {
		d := k.Domain
		if d == "" {
			d = camp.Domain
		}
		s.DKIM = fmt.Sprintf("%s %s d=%s %s", src, k.Selector, d, k.Fingerprint())
	}
	return s
}

// noteProcessKey logs once per domain beyond the first when the process
// key signs lists of different From domains: receivers then see one key
// for unrelated domains, and a list's own key is the better choice.
func (e *Engine) noteProcessKey(camp *Campaign) {
	if camp.DKIM != nil || e.cfg.DKIM == nil || e.cfg.DKIM.Domain != "" {
		return
	}
	e.keyMu.Lock()
	defer e.keyMu.Unlock()
	if e.keyDomains == nil {
		e.keyDomains = map[string]bool{}
	}
	if e.keyDomains[camp.Domain] {
		return
	}
	e.keyDomains[camp.Domain] = true
	if len(e.keyDomains) == 2 {
		var ds []string
		for d := range e.keyDomains {
			ds = append(ds, d)
		}
		slices.Sort(ds)
		e.cfg.Logger.Warn("the process DKIM key signs lists of different From domains; give each list its own key with 'tidings list set SLUG --dkim-key FILE --dkim-selector SEL'",
			"domains", strings.Join(ds, " "), "selector", e.cfg.DKIM.Selector)
	}
}

// checkSettings makes the send's recorded settings this process's, in
// tx: recorded when none are (a new send, or one started before settings
// were recorded); kept when equal; replaced when adopt is set and no other
// process holds a lease on a row of the send; refused otherwise.
func checkSettings(ctx context.Context, tx *sql.Tx, issueID int64, ours Settings, owner string, now int64, adopt bool) (adopted bool, old Settings, err error) {
	var recJSON, recFP string
	if err := tx.QueryRowContext(ctx, `SELECT settings, settings_fp FROM sends WHERE issue_id = ?`, issueID).Scan(&recJSON, &recFP); err != nil {
		return false, old, fmt.Errorf("send settings of issue %d: %w", issueID, err)
	}
	fp := ours.Fingerprint()
	if recFP == fp {
		return false, old, nil
	}
	if recFP != "" {
		if err := json.Unmarshal([]byte(recJSON), &old); err != nil {
			return false, old, fmt.Errorf("send settings of issue %d: %w", issueID, err)
		}
		holder, err := liveHolder(ctx, tx, issueID, owner, now)
		if err != nil {
			return false, old, err
		}
		if holder != "" || !adopt {
			return false, old, &SettingsError{IssueID: issueID, Recorded: old, Ours: ours, Holder: holder}
		}
	}
	b, _ := json.Marshal(ours)
	if _, err := tx.ExecContext(ctx, `UPDATE sends SET settings = ?, settings_fp = ? WHERE issue_id = ?`, string(b), fp, issueID); err != nil {
		return false, old, fmt.Errorf("record send settings of issue %d: %w", issueID, err)
	}
	return recFP != "", old, nil
}

// liveHolder is another process that holds an unexpired lease on a row
// of the send, "" when none does. A process of this machine that is gone
// (killed) holds nothing: its leases are freed when the send resumes.
func liveHolder(ctx context.Context, tx *sql.Tx, issueID int64, owner string, now int64) (string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT lease_owner FROM deliveries INDEXED BY deliveries_by_state
		WHERE issue_id = ? AND state IN ('pending', 'sending') AND lease_until >= ? AND lease_owner NOT IN ('', ?)`,
		issueID, now, owner)
	if err != nil {
		return "", fmt.Errorf("send settings of issue %d: %w", issueID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return "", fmt.Errorf("send settings of issue %d: %w", issueID, err)
		}
		if !ownerDead(o) {
			return o, nil
		}
	}
	return "", rows.Err()
}

// ReadSettings returns the settings recorded for an issue's send (zero
// when none are).
func ReadSettings(ctx context.Context, q *sql.DB, issueID int64) (Settings, error) {
	var s Settings
	var js string
	err := q.QueryRowContext(ctx, `SELECT settings FROM sends WHERE issue_id = ?`, issueID).Scan(&js)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && js == "") {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("send settings of issue %d: %w", issueID, err)
	}
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		return s, fmt.Errorf("send settings of issue %d: %w", issueID, err)
	}
	return s, nil
}
