// Command benchreport turns the JSON lines bench/run.sh collected into
// docs/benchmarks.md: machine facts, the commands, per-scenario medians over
// rounds, Carillon/ceiling ratios computed within each round, and the issue's
// targets with PASS/MISS.
//
// Everything from the line "<!-- notes below are kept by bench/run.sh -->"
// to the end of an existing output file is preserved (profiles and
// optimisation notes written by hand).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
)

const keepMarker = "<!-- notes below are kept by bench/run.sh -->"

// rec is one line of results.jsonl: a carload result plus the fields the
// script adds.
type rec struct {
	Phase     string         `json:"phase"`  // main, big, scale, rss
	Target    string         `json:"target"` // ceiling, carillon, small, big, empty, loaded
	Round     int            `json:"round"`
	RC        int            `json:"rc"`
	Scenario  string         `json:"scenario"`
	C         int            `json:"c"`
	Meetings  int            `json:"meetings"`
	Attendees int            `json:"attendees"`
	DurationS float64        `json:"duration_s"`
	Requests  uint64         `json:"requests"`
	ReqTotal  uint64         `json:"requests_total"`
	RPS       float64        `json:"rps"`
	P50       float64        `json:"p50_ms"`
	P90       float64        `json:"p90_ms"`
	P99       float64        `json:"p99_ms"`
	Max       float64        `json:"max_ms"`
	Errors    map[string]int `json:"errors"`
	ErrRate   float64        `json:"error_rate"`
	ClientCPU float64        `json:"client_cpu_us_per_req"`
	ServerCPU float64        `json:"server_cpu_us_per_req"`
	FirstErr  string         `json:"first_error"`
	RSSKB     int64          `json:"rss_kb"`
	Note      string         `json:"note"`
}

func main() {
	results := flag.String("results", "", "results.jsonl")
	facts := flag.String("facts", "", "facts file: 'key<TAB>value' lines, in order")
	commands := flag.String("commands", "", "file with the exact commands run")
	out := flag.String("out", "docs/benchmarks.md", "output markdown")
	flag.Parse()

	recs, err := readRecs(*results)
	if err != nil {
		fail(err)
	}
	var b strings.Builder
	writeReport(&b, recs, readLines(*facts), readLines(*commands))

	if old, err := os.ReadFile(*out); err == nil {
		if i := strings.Index(string(old), keepMarker); i >= 0 {
			b.WriteString("\n")
			b.WriteString(string(old[i:]))
		} else {
			b.WriteString("\n" + keepMarker + "\n")
		}
	} else {
		b.WriteString("\n" + keepMarker + "\n")
	}
	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchreport:", err)
	os.Exit(1)
}

func readRecs(path string) ([]rec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []rec
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r rec
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("%s: %w: %s", path, err, line)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

func readLines(path string) []string {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// sel returns the records of one phase/target/scenario/c, by round.
func sel(recs []rec, phase, target, scenario string, c int) map[int]rec {
	m := map[int]rec{}
	for _, r := range recs {
		if r.Phase == phase && r.Target == target && r.Scenario == scenario && (c == 0 || r.C == c) {
			m[r.Round] = r
		}
	}
	return m
}

func med(m map[int]rec, f func(rec) float64) float64 {
	var xs []float64
	for _, r := range m {
		xs = append(xs, f(r))
	}
	return median(xs)
}

// ratio returns the median over rounds present in both of f(a)/f(b).
func ratio(a, b map[int]rec, f func(rec) float64) (float64, int) {
	var xs []float64
	for k, ra := range a {
		if rb, ok := b[k]; ok && f(rb) != 0 {
			xs = append(xs, f(ra)/f(rb))
		}
	}
	return median(xs), len(xs)
}

func rps(r rec) float64 { return r.RPS }
func p50(r rec) float64 { return r.P50 }
func p99(r rec) float64 { return r.P99 }
func scpu(r rec) float64 {
	return r.ServerCPU
}
func ccpu(r rec) float64 { return r.ClientCPU }

func errSummary(m map[int]rec) string {
	tot := map[string]int{}
	var first string
	for _, r := range m {
		for k, v := range r.Errors {
			tot[k] += v
		}
		if first == "" && r.FirstErr != "" {
			first = r.FirstErr
		}
	}
	if len(tot) == 0 {
		return "0"
	}
	var keys []string
	for k := range tot {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, tot[k]))
	}
	s := strings.Join(parts, " ")
	if first != "" {
		if len(first) > 120 {
			first = first[:120] + "…"
		}
		s += " (first: `" + strings.ReplaceAll(first, "|", "\\|") + "`)"
	}
	return s
}

func passMiss(ok bool, have bool) string {
	if !have {
		return "not measured"
	}
	if ok {
		return "**PASS**"
	}
	return "**MISS**"
}

var scenarioTitle = map[string]string{
	"get-attendee":                 "GetAttendee",
	"list-attendees":               "ListAttendees (250 attendees, first page of 100)",
	"create-attendee":              "CreateAttendee",
	"update-attendee-capabilities": "UpdateAttendeeCapabilities",
	"batch-except":                 "BatchUpdateAttendeeCapabilitiesExcept (250 attendees, 5 excluded, c meetings)",
}

var scenarioOrder = []string{"get-attendee", "list-attendees", "create-attendee", "update-attendee-capabilities", "batch-except"}

// report writes docs/benchmarks.md from the records, one section at a time.
type report struct {
	b    *strings.Builder
	recs []rec
	// The selections several sections share.
	bs, bb             map[int]rec // batch-except on the 250-attendee and the big meeting
	bigN               int         // attendees of the big meeting
	sgE, sgL, sbE, sbL map[int]rec // scale phase: GetAttendee and batch-except, empty and loaded
	rssE, rssL         int64
	haveRSS            bool
	loadedN, loadedM   int // attendees and meetings on the loaded server
}

func (rp *report) p(format string, a ...any) { fmt.Fprintf(rp.b, format, a...) }

func writeReport(b *strings.Builder, recs []rec, facts, commands []string) {
	r := &report{b: b, recs: recs}
	r.bs = sel(recs, "big", "small", "batch-except", 1)
	r.bb = sel(recs, "big", "big", "batch-except", 1)
	r.bigN = sizeOf(r.bb)
	r.rssE, r.rssL, r.haveRSS = rssOf(recs)
	for _, x := range sel(recs, "scale", "loaded", "get-attendee", 1) {
		r.loadedN, r.loadedM = x.Meetings*x.Attendees, x.Meetings
	}
	r.sgE = sel(recs, "scale", "empty", "get-attendee", 1)
	r.sgL = sel(recs, "scale", "loaded", "get-attendee", 1)
	r.sbE = sel(recs, "scale", "empty", "batch-except", 1)
	r.sbL = sel(recs, "scale", "loaded", "batch-except", 1)

	r.header(facts, commands)
	r.method()
	r.targets()
	r.perScenario()
	r.bigMeeting()
	r.scale()
	r.everyRun()
}

// header writes the title, the machine facts and the commands.
func (rp *report) header(facts, commands []string) {
	p := rp.p
	p("# Benchmarks\n\n")
	p("Generated by `bench/run.sh` (do not edit above the marker at the end; notes below it are kept).\n")
	p("Every figure is a **median over rounds of one run of the script**; every ratio is computed\n")
	p("between two measurements taken back to back in the same round, then the median over rounds is\n")
	p("taken. Absolute times on this shared 2-core machine move with whatever else runs on it; the\n")
	p("ratios and the CPU-per-request columns are the figures to compare across runs.\n\n")

	p("## Machine\n\n| fact | value |\n|---|---|\n")
	for _, f := range facts {
		k, v, _ := strings.Cut(f, "\t")
		if k == "" {
			continue
		}
		p("| %s | %s |\n", k, strings.ReplaceAll(v, "|", "\\|"))
	}
	p("\n## Commands\n\n```sh\n")
	for _, c := range commands {
		p("%s\n", c)
	}
	p("```\n\n")
}

// method says how the figures are measured.
func (rp *report) method() {
	p := rp.p
	p("## Method\n\n")
	p("- `bench/cmd/carload` signs every request with aws-sdk-go-v2 `aws/signer/v4` (signing name `chime`,\n")
	p("  SHA-256 payload hash), keeps `-c` keep-alive connections open (one request in flight each) and\n")
	p("  times each round trip with `time.Now()` (signing is outside the timed interval). Latency quantiles\n")
	p("  come from a log-linear histogram (< 0.8%% error); any non-2xx answer is an error, by status.\n")
	p("- Setup (meetings and attendees, through CreateMeeting + BatchCreateAttendee of 100) is not timed;\n")
	p("  each measurement has a warm-up whose requests are not recorded.\n")
	p("- `bench/cmd/ceiling` is the reference: bare `net/http`, one handler that decodes a 289-byte\n")
	p("  GetAttendee-shaped document and encodes it as the answer, for every path; no auth, no storage.\n")
	p("  carload runs against it with `-setup=false` (random IDs; nothing to set up).\n")
	p("- Carillon runs from a binary built by the script, with its durable embedded store (SQLite, WAL,\n")
	p("  `synchronous=FULL`) in a fresh directory on the disk named in *Machine*, restarted for each scenario.\n")
	p("- Load generator and servers share the 2 cores. *server CPU µs/req* is the server's\n")
	p("  user+system time (from `/proc/PID/stat`) over warm-up and timed phase divided by the requests sent\n")
	p("  (10 ms tick resolution); *client CPU µs/req* is carload's own.\n\n")
}

// targets compares the figures with the targets.
func (rp *report) targets() {
	p, recs := rp.p, rp.recs
	bs, bb, bigN := rp.bs, rp.bb, rp.bigN
	sgE, sgL, sbE, sbL := rp.sgE, rp.sgL, rp.sbE, rp.sbL
	rssE, rssL, haveRSS, loadedN, loadedM := rp.rssE, rp.rssL, rp.haveRSS, rp.loadedN, rp.loadedM
	p("## Targets (issue 4)\n\n| target | required | measured | result |\n|---|---|---|---|\n")
	gaC := sel(recs, "main", "carillon", "get-attendee", 32)
	gaCe := sel(recs, "main", "ceiling", "get-attendee", 32)
	r, n := ratio(gaC, gaCe, rps)
	p("| GetAttendee throughput, 32 connections, Carillon/ceiling | ≥ 0.5× | %.2f× (%s vs %s req/s, %d rounds) | %s |\n",
		r, f0(med(gaC, rps)), f0(med(gaCe, rps)), n, passMiss(r >= 0.5, n > 0))
	ga1 := sel(recs, "main", "carillon", "get-attendee", 1)
	v := med(ga1, p50)
	p("| GetAttendee p50, 1 connection | ≤ 0.2 ms | %.3f ms | %s |\n", v, passMiss(v <= 0.2, len(ga1) > 0))
	be1 := sel(recs, "main", "carillon", "batch-except", 1)
	v = med(be1, p50)
	p("| Batch-except (250 att., 5 excl.) p50, 1 connection | ≤ 1 ms | %.3f ms | %s |\n", v, passMiss(v <= 1, len(be1) > 0))
	v = med(be1, p99)
	p("| Batch-except p99, 1 connection | ≤ 3 ms | %.3f ms | %s |\n", v, passMiss(v <= 3, len(be1) > 0))
	be32 := sel(recs, "main", "carillon", "batch-except", 32)
	v = med(be32, rps)
	p("| Batch-except, 32 connections over 32 meetings, durable | ≥ 5,000 req/s | %s req/s | %s |\n", f0(v), passMiss(v >= 5000, len(be32) > 0))
	r, n = ratio(bb, bs, p50)
	p("| Batch-except p50 at %s attendees / at 250 (`--max-attendees %d`) | ≤ 2× | %.2f× (%.3f vs %.3f ms, %d rounds) | %s |\n",
		f0(float64(bigN)), bigN, r, med(bb, p50), med(bs, p50), n, passMiss(r <= 2, n > 0 && bigN >= 10000))
	fullScale := loadedN >= 250000
	p("| RSS with %s meetings × 250 attendees | ≤ 300 MB | %.0f MB | %s |\n", f0(float64(loadedM)), float64(rssL)/1024, passMiss(float64(rssL)/1024 <= 300, haveRSS && fullScale))
	r, n = ratio(sgL, sgE, p50)
	p("| GetAttendee p50 loaded / empty, 1 connection | ≤ 1.5× | %.2f× (%.3f vs %.3f ms) | %s |\n", r, med(sgL, p50), med(sgE, p50), passMiss(r <= 1.5, n > 0 && fullScale))
	r, n = ratio(sbL, sbE, p50)
	p("| Batch-except p50 loaded / empty, 1 connection | ≤ 1.5× | %.2f× (%.3f vs %.3f ms) | %s |\n", r, med(sbL, p50), med(sbE, p50), passMiss(r <= 1.5, n > 0 && fullScale))
	if haveRSS && loadedN > 0 {
		p("| Memory per attendee: (RSS loaded − RSS empty) / %s | (documented) | %.0f bytes (RSS %.1f MB loaded, %.1f MB empty) | — |\n",
			f0(float64(loadedN)), float64(rssL-rssE)*1024/float64(loadedN), float64(rssL)/1024, float64(rssE)/1024)
	}
	p("\n")
}

// perScenario compares Carillon with the ceiling, scenario by scenario.
func (rp *report) perScenario() {
	p, recs := rp.p, rp.recs
	p("## Carillon vs ceiling, per scenario\n\n")
	p("req/s and latencies: medians over rounds. Ratios: Carillon/ceiling within each round, median over rounds.\n\n")
	p("| scenario | c | ceiling req/s | Carillon req/s | req/s ratio | ceiling p50 / p99 ms | Carillon p50 / p99 ms | p50 ratio | server CPU µs/req (ceiling / Carillon) | client CPU µs/req | Carillon errors |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|\n")
	concs := map[int]bool{}
	for _, r := range recs {
		if r.Phase == "main" {
			concs[r.C] = true
		}
	}
	var cs []int
	for c := range concs {
		cs = append(cs, c)
	}
	sort.Ints(cs)
	for _, s := range scenarioOrder {
		for _, c := range cs {
			ca := sel(recs, "main", "carillon", s, c)
			ce := sel(recs, "main", "ceiling", s, c)
			if len(ca) == 0 && len(ce) == 0 {
				continue
			}
			rr, _ := ratio(ca, ce, rps)
			pr, _ := ratio(ca, ce, p50)
			p("| %s | %d | %s | %s | %.2f× | %.3f / %.3f | %.3f / %.3f | %.1f× | %.0f / %.0f | %.0f | %s |\n",
				scenarioTitle[s], c, f0(med(ce, rps)), f0(med(ca, rps)), rr, med(ce, p50), med(ce, p99),
				med(ca, p50), med(ca, p99), pr, med(ce, scpu), med(ca, scpu), med(ca, ccpu), errSummary(ca))
		}
	}
	p("\n")
}

// bigMeeting compares batch-except on the big meeting with 250 attendees.
func (rp *report) bigMeeting() {
	p, bs, bb, bigN := rp.p, rp.bs, rp.bb, rp.bigN
	if len(bs)+len(bb) > 0 {
		p("## Batch-except: %s vs 250 attendees\n\n", f0(float64(bigN)))
		p("One Carillon started with `--max-attendees %d`; a %s-attendee meeting and a 250-attendee meeting,\n", bigN, f0(float64(bigN)))
		p("5 excluded, 1 connection, runs alternating.\n\n")
		p("| meeting | req/s | p50 ms | p90 ms | p99 ms | server CPU µs/req | errors |\n|---|---|---|---|---|---|---|\n")
		for _, x := range []struct {
			n string
			m map[int]rec
		}{{"250 attendees", bs}, {f0(float64(bigN)) + " attendees", bb}} {
			p("| %s | %s | %.3f | %.3f | %.3f | %.0f | %s |\n", x.n, f0(med(x.m, rps)), med(x.m, p50), med(x.m, func(r rec) float64 { return r.P90 }), med(x.m, p99), med(x.m, scpu), errSummary(x.m))
		}
		r, _ := ratio(bb, bs, p50)
		r99, _ := ratio(bb, bs, p99)
		p("\np50 ratio %s/250: %.2f×, p99 ratio %.2f× (per-round ratios, median).\n\n", f0(float64(bigN)), r, r99)
	}
}

// scale compares the empty and the loaded server.
func (rp *report) scale() {
	p, recs := rp.p, rp.recs
	sgE, sgL, sbE, sbL := rp.sgE, rp.sgL, rp.sbE, rp.sbL
	haveRSS, loadedN, loadedM := rp.haveRSS, rp.loadedN, rp.loadedM
	if len(sgE)+len(sgL) > 0 || haveRSS {
		p("## Scale: %s meetings × 250 attendees\n\n", f0(float64(loadedM)))
		p("Two Carillon processes side by side: *empty* holds one 250-attendee meeting, *loaded* holds %s\n", f0(float64(loadedM)))
		p("meetings × 250 attendees (nothing else). Requests on *loaded* spread over all its data\n")
		p("(GetAttendee: a random attendee of the %s; batch-except: the %s meetings round-robin);\n", f0(float64(loadedN)), f0(float64(loadedM)))
		p("runs alternate between the two, 1 connection.\n\n")
		for _, r := range recs {
			if r.Phase == "rss" {
				p("- RSS %s: %.1f MB (VmRSS, %s)\n", r.Target, float64(r.RSSKB)/1024, r.Note)
			}
		}
		p("\n| operation | server | req/s | p50 ms | p99 ms | server CPU µs/req | errors |\n|---|---|---|---|---|---|---|\n")
		for _, x := range []struct {
			op, srv string
			m       map[int]rec
		}{{"GetAttendee", "empty", sgE}, {"GetAttendee", "loaded", sgL}, {"batch-except", "empty", sbE}, {"batch-except", "loaded", sbL}} {
			p("| %s | %s | %s | %.3f | %.3f | %.0f | %s |\n", x.op, x.srv, f0(med(x.m, rps)), med(x.m, p50), med(x.m, p99), med(x.m, scpu), errSummary(x.m))
		}
		rg, _ := ratio(sgL, sgE, p50)
		rg99, _ := ratio(sgL, sgE, p99)
		rb, _ := ratio(sbL, sbE, p50)
		rb99, _ := ratio(sbL, sbE, p99)
		p("\nloaded/empty: GetAttendee p50 %.2f×, p99 %.2f×; batch-except p50 %.2f×, p99 %.2f×.\n\n", rg, rg99, rb, rb99)
	}
}

// everyRun lists every measurement.
func (rp *report) everyRun() {
	p, recs := rp.p, rp.recs
	p("## Every run\n\n<details><summary>%d measurements</summary>\n\n", len(recs))
	p("| phase | target | scenario | c | round | meetings × attendees | req/s | p50 | p90 | p99 | max ms | server / client CPU µs/req | errors | exit |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range recs {
		if r.Phase == "rss" {
			continue
		}
		e := "0"
		if len(r.Errors) > 0 {
			e = errSummary(map[int]rec{0: r})
		}
		p("| %s | %s | %s | %d | %d | %d × %d | %s | %.3f | %.3f | %.3f | %.2f | %.0f / %.0f | %s | %d |\n",
			r.Phase, r.Target, r.Scenario, r.C, r.Round, r.Meetings, r.Attendees, f0(r.RPS), r.P50, r.P90, r.P99, r.Max, r.ServerCPU, r.ClientCPU, e, r.RC)
	}
	p("\n</details>\n")
}

func rssOf(recs []rec) (empty, loaded int64, ok bool) {
	var haveE, haveL bool
	for _, r := range recs {
		if r.Phase != "rss" {
			continue
		}
		// The largest figure seen for each server is the one used.
		switch {
		case strings.HasPrefix(r.Target, "empty"):
			if r.RSSKB > empty {
				empty = r.RSSKB
			}
			haveE = true
		case strings.HasPrefix(r.Target, "loaded"):
			if r.RSSKB > loaded {
				loaded = r.RSSKB
			}
			haveL = true
		}
	}
	return empty, loaded, haveE && haveL
}

func f0(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	// thousands separators
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// sizeOf returns the attendee count of the meetings of a set of runs.
func sizeOf(m map[int]rec) int {
	for _, r := range m {
		return r.Attendees
	}
	return 0
}
