package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/apk8s/apk8s-platform/components/kafka"
)

// controllerQuorum stands in for the ensemble check in KRaft mode. The
// voters are the first pods of the kafka StatefulSet, fixed when the
// cluster was made, and they read the cluster ID from its ConfigMap. A
// voter turns Ready when its broker listener answers, which it opens only
// once it has caught up with the metadata the quorum's leader serves. The
// quorum's own view (leader, lag) takes Kafka's DescribeQuorum, which the
// in-process Kafka of the tests does not answer, so it is left to
// kafka-metadata-quorum (docs/verify.md).
func controllerQuorum(ctx context.Context, s *Session) (string, error) {
	voters := make([]corev1.Pod, s.KRaftVoters)
	for i := range voters {
		name := fmt.Sprintf("%s-%d", kafka.Name, i)
		p, err := s.Kube.CoreV1().Pods(s.Namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			voters[i].Name = name // no phase: reported missing
		case err != nil:
			return "", err
		default:
			voters[i] = *p
		}
	}
	cm, err := s.Kube.CoreV1().ConfigMaps(s.Namespace).Get(ctx, kafka.ClusterIDName, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return "", err
	}
	id := ""
	if err == nil {
		id = cm.Data[kafka.ClusterIDKey]
	}
	return quorumReport(voters, id)
}

// quorumReport passes when every voter runs and is Ready and the cluster
// ID is kept; it names every voter that is not.
func quorumReport(voters []corev1.Pod, clusterID string) (string, error) {
	var ready, bad []string
	for _, p := range voters {
		switch {
		case p.Status.Phase == "":
			bad = append(bad, p.Name+" missing")
		case p.Status.Phase != corev1.PodRunning || !podReady(p):
			bad = append(bad, p.Name+" "+podState(p))
		default:
			ready = append(ready, p.Name)
		}
	}
	if clusterID == "" {
		bad = append(bad, fmt.Sprintf("no cluster ID in ConfigMap %s", kafka.ClusterIDName))
	}
	if len(bad) > 0 {
		return "", errors.New(strings.Join(bad, ", "))
	}
	return fmt.Sprintf("%d of %d voters Ready (%s), cluster ID kept", len(ready), len(voters), strings.Join(ready, ", ")), nil
}
