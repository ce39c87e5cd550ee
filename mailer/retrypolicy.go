// retrypolicy.go holds the retry policy: exponential backoff with jitter.

package mailer

import (
	"math"
	mrand "math/rand/v2"
	"time"
)

// backoff is Backoff·2^attempts, capped, with ±25 % jitter so retries
// of many messages do not arrive together.
func backoff(base, limit time.Duration, attempts int) time.Duration {
	d := float64(base) * math.Pow(2, float64(attempts))
	if d > float64(limit) {
		d = float64(limit)
	}
	return jitter(time.Duration(d))
}

func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.75 + 0.5*mrand.Float64()))
}
