package main

import (
	"os"
	"testing"
	"time"
)

func TestStreamStatsCountsGapsAcrossWrap(t *testing.T) {
	var st streamStats
	for _, seq := range []uint16{65533, 65534, 1, 2, 1, 5} { // 65535 and 0 lost; 1 again is late; 3, 4 lost
		st.add(seq)
	}
	if st.received != 6 || st.lost != 4 {
		t.Fatalf("received %d lost %d, want 6 and 4", st.received, st.lost)
	}
}

func TestCPUTimeOfThisProcess(t *testing.T) {
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) { // burn some CPU
	}
	d, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d < 100*time.Millisecond || d > time.Hour {
		t.Fatalf("cpu time %v after burning 300 ms", d)
	}
}
