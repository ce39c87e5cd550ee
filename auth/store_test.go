package auth

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/tidings/tidings/db/dbtest"
)

func newTestStore(t *testing.T) (*Store, *clock) {
	t.Helper()
	c := newClock()
	s := NewStore(dbtest.MustOpenDB(t), c.now)
	s.Params = cheap
	return s, c
}

func addAccount(t *testing.T, s *Store, email string) int64 {
	t.Helper()
	var id int64
	err := s.DB.WriteTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		id, err = s.InsertAccount(context.Background(), tx, Account{Email: email, Role: "editor", AllLists: true})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (s *Store) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := s.DB.R.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNewLinkReplacesEarlierOnes(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestStore(t)
	id := addAccount(t, s, "ann@example.org")
	var first, second string
	for _, v := range []*string{&first, &second} {
		if err := s.DB.WriteTx(ctx, func(tx *sql.Tx) (err error) { *v, err = s.NewLink(ctx, tx, id); return err }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.LinkUser(ctx, nil, first); !errors.Is(err, ErrNoLink) {
		t.Fatalf("the earlier link still works: %v", err)
	}
	if got, err := s.LinkUser(ctx, nil, second); err != nil || got != id {
		t.Fatalf("the newer link: %d %v", got, err)
	}
	if n := s.count(t, "signin_links"); n != 1 {
		t.Fatalf("%d links stored", n)
	}
}

func TestNewSessionSweepsExpiredOnes(t *testing.T) {
	ctx := context.Background()
	s, c := newTestStore(t)
	ann, bob := addAccount(t, s, "ann@example.org"), addAccount(t, s, "bob@example.org")
	start := func(id int64) string {
		var sid string
		if err := s.DB.WriteTx(ctx, func(tx *sql.Tx) (err error) { sid, err = s.NewSession(ctx, tx, id, "", ""); return err }); err != nil {
			t.Fatal(err)
		}
		return sid
	}
	start(ann)
	c.add(s.Idle + time.Second) // ann's session is dead, nobody looked at it
	live := start(bob)
	if n := s.count(t, "sessions"); n != 1 {
		t.Fatalf("%d sessions after the sweep, want bob's only", n)
	}
	if got, err := s.SessionUser(ctx, live); err != nil || got != bob {
		t.Fatalf("bob's session: %d %v", got, err)
	}
	for _, bad := range []string{"", "nonsense"} {
		if _, err := s.SessionUser(ctx, bad); !errors.Is(err, ErrNoSession) {
			t.Fatalf("session %q: %v", bad, err)
		}
	}
}

func TestDeleteAccountTakesItsSessionsAndLinks(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestStore(t)
	id := addAccount(t, s, "ann@example.org")
	err := s.DB.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.NewSession(ctx, tx, id, "", ""); err != nil {
			return err
		}
		_, err := s.NewLink(ctx, tx, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.DB.WriteTx(ctx, func(tx *sql.Tx) error { _, err := s.DeleteAccount(ctx, tx, "ANN@example.org"); return err })
	if err != nil {
		t.Fatal(err)
	}
	if s.count(t, "sessions")+s.count(t, "signin_links")+s.count(t, "users") != 0 {
		t.Fatal("a removed account left rows behind")
	}
	err = s.DB.WriteTx(ctx, func(tx *sql.Tx) error { _, err := s.DeleteAccount(ctx, tx, "ann@example.org"); return err })
	if !errors.Is(err, ErrNoAccount) {
		t.Fatalf("removing twice: %v", err)
	}
}

func TestInsertAccountRefusesDuplicateAddress(t *testing.T) {
	s, _ := newTestStore(t)
	addAccount(t, s, "ann@example.org")
	err := s.DB.WriteTx(context.Background(), func(tx *sql.Tx) error {
		_, err := s.InsertAccount(context.Background(), tx, Account{Email: "Ann@Example.org", Role: "admin", AllLists: true})
		return err
	})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate address: %v", err)
	}
}
