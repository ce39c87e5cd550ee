package main

import (
	"github.com/spf13/cobra"

	"github.com/tidings/tidings"
)

// listTrackFlags are list set's engagement tracking settings.
type listTrackFlags struct {
	clicks, opens string
	days          int
}

func (f *listTrackFlags) bind(c *cobra.Command) {
	c.Flags().StringVar(&f.clicks, "clicks", "", "click tracking: off, aggregate (counts, no person) or individual (per subscriber)")
	c.Flags().StringVar(&f.opens, "opens", "", "open tracking (an estimate): off, aggregate or individual")
	c.Flags().IntVar(&f.days, "activity-days", 0, "days per-person events are kept before only the counts remain (1 to 3650)")
}

func (f *listTrackFlags) changed(c *cobra.Command) bool {
	return c.Flags().Changed("clicks") || c.Flags().Changed("opens") || c.Flags().Changed("activity-days")
}

// check refuses bad values before anything is opened (exit 2).
func (f *listTrackFlags) check(c *cobra.Command) error {
	for _, fl := range []struct{ name, v string }{{"clicks", f.clicks}, {"opens", f.opens}} {
		if c.Flags().Changed(fl.name) {
			if _, err := tidings.ParseTracking(fl.v); err != nil {
				return usagef("list set: --%s %q: want off, aggregate or individual", fl.name, fl.v)
			}
		}
	}
	if c.Flags().Changed("activity-days") && (f.days < 1 || f.days > 3650) {
		return usagef("list set: --activity-days %d: want 1 to 3650", f.days)
	}
	return nil
}

// apply sets the given flags on l (inside UpdateList's callback).
func (f *listTrackFlags) apply(c *cobra.Command, l *tidings.List) {
	if c.Flags().Changed("clicks") {
		l.Clicks, _ = tidings.ParseTracking(f.clicks)
	}
	if c.Flags().Changed("opens") {
		l.Opens, _ = tidings.ParseTracking(f.opens)
	}
	if c.Flags().Changed("activity-days") {
		l.ActivityDays = f.days
	}
}
