package mailer

import "testing"

func TestZZPlan(t *testing.T) {
	f := newFixture(t, 10)
	for _, q := range []string{
		`EXPLAIN QUERY PLAN UPDATE deliveries SET lease_owner = 'x', lease_until = 5
			WHERE issue_id = 1 AND subscriber_id IN (
				SELECT subscriber_id FROM deliveries
				WHERE issue_id = 1 AND state IN ('pending', 'sending') AND next_attempt_at <= 5 AND lease_until < 5
				LIMIT 10)`,
	} {
		rows, err := f.d.R.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a, b, c int
			var d string
			rows.Scan(&a, &b, &c, &d)
			t.Log(d)
		}
		rows.Close()
	}
}
