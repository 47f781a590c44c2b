package verify

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// forward is `kubectl port-forward pod/NAME :PORT`: a loopback listener
// whose connections reach the pod's port through the API server. Loopback
// keeps other machines out; other users of this machine can connect while
// it lasts (client-go listens on TCP only), which docs/verify.md says.
type forward struct {
	pod   string
	local string // 127.0.0.1:port

	stopCh chan struct{}
	mu     sync.Mutex
	err    error // why the forward ended, once it has
}

// forwardPod opens a port-forward to a pod's port. A pod that is not
// running is refused here, with its phase, rather than by a dial that
// fails later with less to say.
func (s *Session) forwardPod(ctx context.Context, pod string, port int32) (*forward, error) {
	p, err := s.Kube.CoreV1().Pods(s.Namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if p.Status.Phase != corev1.PodRunning {
		return nil, fmt.Errorf("pod %s/%s is not running %s", s.Namespace, pod, podState(*p))
	}
	transport, upgrader, err := spdy.RoundTripperFor(s.Config)
	if err != nil {
		return nil, err
	}
	url := s.Kube.CoreV1().RESTClient().Post().Resource("pods").Namespace(s.Namespace).Name(pod).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
	f := &forward{pod: pod, stopCh: make(chan struct{})}
	ready := make(chan struct{})
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, f.stopCh, ready, s.Log, s.Log)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() {
		err := pf.ForwardPorts()
		f.mu.Lock()
		f.err = fmt.Errorf("port-forward to pod %s/%s ended: %v", s.Namespace, pod, err)
		f.mu.Unlock()
		done <- err
	}()
	select {
	case <-ready:
	case err := <-done:
		return nil, fmt.Errorf("port-forward to pod %s/%s port %d: %w", s.Namespace, pod, port, err)
	case <-ctx.Done():
		close(f.stopCh)
		return nil, fmt.Errorf("port-forward to pod %s/%s port %d: %w", s.Namespace, pod, port, ctx.Err())
	}
	ports, err := pf.GetPorts()
	if err != nil {
		f.stop()
		return nil, err
	}
	f.local = fmt.Sprintf("127.0.0.1:%d", ports[0].Local)
	s.forwards = append(s.forwards, f)
	return f, nil
}

// ended is why the forward stopped, or nil while it runs.
func (f *forward) ended() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *forward) stop() {
	select {
	case <-f.stopCh:
	default:
		close(f.stopCh)
	}
}
