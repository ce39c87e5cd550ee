package console

// Patterns lists the console's route patterns, for the external tests
// that walk every route.
func Patterns() []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		out[i] = r.pattern
	}
	return out
}
