package main

import "testing"

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "demo.localhost": true, "127.0.0.1": true, "::1": true, "127.8.9.10": true,
		"news.example.org": false, "10.0.0.1": false, "": false, "localhost.example.org": false,
	} {
		if got := loopbackHost(host); got != want {
			t.Errorf("loopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}
