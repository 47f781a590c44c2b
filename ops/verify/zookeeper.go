package verify

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/apk8s/apk8s-platform/components/zookeeper"
)

// zookeeperEnsemble asks every member for its mode with the four-letter
// word "srvr" (the one ZooKeeper allows by default, and in the
// component's whitelist) through a port-forward to its client port.
// The pods' Ready state would not do: their readiness probe is "ruok",
// which a member answers before it has joined a quorum, so that the
// ensemble can form at all.
func zookeeperEnsemble(ctx context.Context, s *Session) (string, error) {
	n, err := s.replicas(ctx, zookeeper.Name)
	if err != nil {
		return "", err
	}
	modes := make([]memberMode, n)
	for i := range modes {
		pod := fmt.Sprintf("%s-%d", zookeeper.Name, i)
		modes[i] = memberMode{pod: pod}
		f, err := s.forwardPod(ctx, pod, zookeeper.Client.Port)
		if err != nil {
			modes[i].err = err
			continue
		}
		modes[i].mode, modes[i].err = srvrMode(ctx, f.local)
	}
	return ensembleReport(modes)
}

// replicas is the desired size of a StatefulSet of the stack.
func (s *Session) replicas(ctx context.Context, name string) (int, error) {
	st, err := s.Kube.AppsV1().StatefulSets(s.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	if st.Spec.Replicas == nil {
		return 1, nil
	}
	return int(*st.Spec.Replicas), nil
}

type memberMode struct {
	pod  string
	mode string // leader, follower, standalone, ...
	err  error
}

// srvrMode sends "srvr" to addr and returns the "Mode:" line's value.
func srvrMode(ctx context.Context, addr string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := conn.Write([]byte("srvr")); err != nil {
		return "", err
	}
	return parseSrvr(bufio.NewScanner(conn))
}

// parseSrvr finds the mode in a srvr answer. A member outside a quorum
// answers "This ZooKeeper instance is not currently serving requests".
func parseSrvr(sc *bufio.Scanner) (string, error) {
	var lines []string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if mode, ok := strings.CutPrefix(line, "Mode:"); ok {
			return strings.TrimSpace(mode), nil
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if len(lines) == 0 {
		return "", errors.New("no answer to srvr (is srvr in 4lw.commands.whitelist?)")
	}
	return "", fmt.Errorf("no mode in the answer to srvr: %q", strings.Join(lines, " "))
}

// ensembleReport passes when every member answers and they form one
// quorum: a single member standalone, or exactly one leader and the rest
// followers.
func ensembleReport(members []memberMode) (string, error) {
	var seen, problems []string
	leaders := 0
	for _, m := range members {
		if m.err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", m.pod, m.err))
			continue
		}
		seen = append(seen, m.pod+" "+m.mode)
		switch m.mode {
		case "leader":
			leaders++
		case "follower":
		case "standalone":
			if len(members) > 1 {
				problems = append(problems, m.pod+" is standalone in an ensemble of "+fmt.Sprint(len(members)))
			}
		default:
			problems = append(problems, fmt.Sprintf("%s is in mode %q", m.pod, m.mode))
		}
	}
	if len(members) > 1 && len(problems) == 0 && leaders != 1 {
		problems = append(problems, fmt.Sprintf("%d leaders, want 1", leaders))
	}
	if len(problems) > 0 {
		return "", errors.New(strings.Join(problems, "; "))
	}
	return fmt.Sprintf("%d members: %s", len(members), strings.Join(seen, ", ")), nil
}
