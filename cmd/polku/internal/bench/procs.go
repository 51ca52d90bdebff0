package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// server is a running `polku bench serve` process.
type server struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ready Ready
	done  chan error
}

// startServer starts the server process and waits for its Ready line.
func startServer(ctx context.Context, command func(args []string) *exec.Cmd, args []string, log io.Writer) (*server, error) {
	cmd := command(args)
	cmd.Stderr = log
	// The server must seal identity codes with the key the seeding used (the
	// pic-key file in its data dir), never with one from the environment.
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "POLKU_PIC_KEY=") })
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { s.done <- cmd.Wait() }()
	select {
	case line, ok := <-lines:
		if !ok {
			return nil, fmt.Errorf("bench server exited before it was ready: %v", <-s.done)
		}
		if err := json.Unmarshal([]byte(line), &s.ready); err != nil {
			s.stop()
			return nil, fmt.Errorf("bench server said %q: %w", line, err)
		}
		return s, nil
	case <-time.After(2 * time.Minute):
		s.stop()
		return nil, errors.New("bench server not ready in 2 minutes")
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// stop closes the server's stdin (it then stops gracefully) and waits;
// after 30 s it is killed.
func (s *server) stop() error {
	_ = s.stdin.Close()
	select {
	case err := <-s.done:
		return err
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		return errors.Join(errors.New("bench server did not stop in 30 s; killed"), <-s.done)
	}
}

// Memory is a process's resident set from /proc/<pid>/status.
type Memory struct {
	RSSKB  int64 `json:"rss_kb"`
	PeakKB int64 `json:"peak_rss_kb"`
}

func procMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			m.RSSKB = n
		case "VmHWM:":
			m.PeakKB = n
		}
	}
	return m, nil
}

// redisServer is a redis-server started for one bench run, AOF on, in a
// temporary directory (the approach of platform/testkit).
type redisServer struct {
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

func startRedis(ctx context.Context, dir string) (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found on PATH: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes",
		"--appendfsync", "everysec", "--save", "", "--logfile", filepath.Join(dir, "redis.log"), "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &redisServer{addr: net.JoinHostPort("127.0.0.1", port), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(r.done) }()
	rc := redis.NewClient(&redis.Options{Addr: r.addr})
	defer rc.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if rc.Ping(ctx).Err() == nil {
			return r, nil
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, errors.New("redis-server did not answer PING in 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *redisServer) stop() {
	_ = r.cmd.Process.Signal(os.Interrupt)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// redisInfo reads integer fields of INFO (used_memory, used_memory_rss, ...).
func redisInfo(ctx context.Context, addr string, fields ...string) (map[string]int64, error) {
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	info, err := rc.Info(ctx, "memory", "persistence").Result()
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		for _, f := range fields {
			if k == f {
				out[k], _ = strconv.ParseInt(v, 10, 64)
			}
		}
	}
	return out, nil
}
