package benchsuite

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// procSample is what /proc tells about a process at one instant. CPU and
// context switches are summed over its threads (/proc/PID/status alone
// reports the main thread's switches only).
type procSample struct {
	At               time.Time
	RSSKB, HWMKB     int64 // VmRSS, VmHWM
	CPUTicks         int64 // utime + stime of /proc/PID/stat, in USER_HZ ticks
	RunNS            int64 // sum of the threads' schedstat run time
	Slices           int64 // sum of the threads' schedstat timeslices (times put on a CPU)
	Voluntary, Invol int64 // sum of the threads' context switches
	Threads          int
}

// userHZ is the unit of utime/stime. It is 100 on every Linux Go supports
// in practice (sysconf(_SC_CLK_TCK)); RunNS does not depend on it.
const userHZ = 100

func (s procSample) cpu() time.Duration { return time.Duration(s.CPUTicks) * time.Second / userHZ }

// readProc samples process pid.
func readProc(pid int) (procSample, error) {
	s := procSample{At: time.Now()}
	dir := fmt.Sprintf("/proc/%d", pid)
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return s, err
	}
	fields := parseStatus(status)
	s.RSSKB, s.HWMKB = kb(fields["VmRSS"]), kb(fields["VmHWM"])
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return s, err
	}
	if s.CPUTicks, err = parseStatCPU(stat); err != nil {
		return s, err
	}
	tasks, err := os.ReadDir(filepath.Join(dir, "task"))
	if err != nil {
		return s, err
	}
	for _, t := range tasks {
		tdir := filepath.Join(dir, "task", t.Name())
		st, err := os.ReadFile(filepath.Join(tdir, "status"))
		if err != nil {
			continue // the thread exited meanwhile
		}
		f := parseStatus(st)
		v, _ := strconv.ParseInt(f["voluntary_ctxt_switches"], 10, 64)
		nv, _ := strconv.ParseInt(f["nonvoluntary_ctxt_switches"], 10, 64)
		s.Voluntary += v
		s.Invol += nv
		if ss, err := os.ReadFile(filepath.Join(tdir, "schedstat")); err == nil {
			run, slices := parseSchedstat(ss)
			s.RunNS += run
			s.Slices += slices
		}
		s.Threads++
	}
	return s, nil
}

// parseStatus maps "Key:\tvalue" lines of /proc/PID/status to key → value.
func parseStatus(b []byte) map[string]string {
	out := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// kb parses "1234 kB".
func kb(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
	return n
}

// parseStatCPU returns utime+stime from /proc/PID/stat. The command name
// (field 2) may contain spaces and parentheses: fields are counted after
// the last ')'.
func parseStatCPU(b []byte) (int64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("cannot parse /proc stat: %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("cannot parse /proc stat: %d fields", len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cannot parse /proc stat: utime %q stime %q", f[11], f[12])
	}
	return ut + st, nil
}

// parseSchedstat returns the run time (ns) and timeslice count of
// /proc/PID/task/TID/schedstat ("run_ns wait_ns slices").
func parseSchedstat(b []byte) (runNS, slices int64) {
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0, 0
	}
	runNS, _ = strconv.ParseInt(f[0], 10, 64)
	slices, _ = strconv.ParseInt(f[2], 10, 64)
	return runNS, slices
}
