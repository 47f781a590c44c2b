package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ranServers is the last outputs of a deployed dev3 (1 server, workers
// workers) whose servers all run image, the control plane a DEV1-M and the
// workers a DEV1-L.
func ranServers(t *testing.T, image string, workers int) map[string]any {
	last := deployed(Default(t, "k3sVersion"))
	servers := map[string]any{"apk8s-dev3-cp": map[string]any{"image": image, "type": "DEV1-M"}}
	for i := 1; i <= workers; i++ {
		servers[fmt.Sprintf("apk8s-dev3-worker-%d", i)] = map[string]any{"image": image, "type": "DEV1-L"}
	}
	last["servers"] = servers
	return last
}

// serverShapes are the image and type of each server the run registers,
// by server name.
func serverShapes(t *testing.T, g *Graph) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range g.Find(tokServer) {
		p := s.Plain()
		out[p["name"].(string)] = p["image"].(string) + "/" + p["type"].(string)
	}
	require.NotEmpty(t, out)
	return out
}

// TestRollingNodeChanges: a new image or type reaches at most one server
// of a deployed cluster per update, settled from the output servers: a
// change that would reach more is refused before anything is registered,
// with the per-server sequence and its health gate; rollServers picks the
// one server, the others keep what they run; the control plane is never
// replaced without allowControlPlaneReplacement; workers leave one per
// update.
func TestRollingNodeChanges(t *testing.T) {
	const noble, jammy = "ubuntu_noble", "ubuntu_jammy"
	run := func(set map[string]string, last map[string]any) Run {
		return Run{Stack: "dev3", Set: set, Last: last}
	}
	t.Run("a new image on every server is refused with the sequence", func(t *testing.T) {
		err := badConfig{"image", run(map[string]string{"serverImage": jammy}, ranServers(t, noble, 3)), []string{
			"(1 problems)", "change 4 servers (apk8s-dev3-worker-1, apk8s-dev3-worker-2, apk8s-dev3-worker-3, apk8s-dev3-cp) in one update",
			"1. pulumi config set apk8s-platform:rollServers apk8s-dev3-worker-1 -s dev3 && pulumi up -s dev3 && go run ./cmd/platform -stack dev3 -node apk8s-dev3-worker-1 gate",
			"4. pulumi config set apk8s-platform:rollServers apk8s-dev3-cp -s dev3",
			"allowControlPlaneReplacement = true: with one server, a new, empty cluster",
			"5. pulumi config rm apk8s-platform:rollServers -s dev3",
		}}
		err.refused(t)
	})
	t.Run("a new worker type on every worker is refused", func(t *testing.T) {
		badConfig{"type", run(map[string]string{"workerType": "DEV1-XL"}, ranServers(t, noble, 3)), []string{
			"change 3 servers (apk8s-dev3-worker-1, apk8s-dev3-worker-2, apk8s-dev3-worker-3)", "-node apk8s-dev3-worker-3 gate",
		}}.refused(t)
	})
	t.Run("rollServers moves the one server it names", func(t *testing.T) {
		g := run(map[string]string{"serverImage": jammy, "rollServers": "apk8s-dev3-worker-2"}, ranServers(t, noble, 3)).MustDo(t)
		assert.Equal(t, map[string]string{
			"apk8s-dev3-cp": noble + "/DEV1-M", "apk8s-dev3-worker-1": noble + "/DEV1-L",
			"apk8s-dev3-worker-2": jammy + "/DEV1-L", "apk8s-dev3-worker-3": noble + "/DEV1-L",
		}, serverShapes(t, g))
	})
	t.Run("a server already rolled keeps the new image, the next takes it", func(t *testing.T) {
		last := ranServers(t, noble, 3)
		last["servers"].(map[string]any)["apk8s-dev3-worker-1"] = map[string]any{"image": jammy, "type": "DEV1-L"}
		g := run(map[string]string{"serverImage": jammy, "rollServers": "apk8s-dev3-worker-3"}, last).MustDo(t)
		shapes := serverShapes(t, g)
		assert.Equal(t, jammy+"/DEV1-L", shapes["apk8s-dev3-worker-1"])
		assert.Equal(t, noble+"/DEV1-L", shapes["apk8s-dev3-worker-2"])
		assert.Equal(t, jammy+"/DEV1-L", shapes["apk8s-dev3-worker-3"])
	})
	t.Run("one server to change needs no rollServers", func(t *testing.T) {
		g := run(map[string]string{"workerType": "DEV1-XL", "workerCount": "1", "cephPoolReplicas": "1"}, ranServers(t, noble, 1)).MustDo(t)
		assert.Equal(t, noble+"/DEV1-XL", serverShapes(t, g)["apk8s-dev3-worker-1"])
	})
	t.Run("the control plane's type stops it, not replaces: no opt-in", func(t *testing.T) {
		g := run(map[string]string{"controlPlaneType": "DEV1-L"}, ranServers(t, noble, 3)).MustDo(t)
		assert.Equal(t, noble+"/DEV1-L", serverShapes(t, g)["apk8s-dev3-cp"])
	})
	t.Run("the control plane's replacement needs the opt-in", func(t *testing.T) {
		last := ranServers(t, jammy, 3)
		last["servers"].(map[string]any)["apk8s-dev3-cp"] = map[string]any{"image": noble, "type": "DEV1-M"}
		set := map[string]string{"serverImage": jammy}
		badConfig{"cp", run(set, last), []string{
			`apk8s-platform:serverImage = "ubuntu_jammy" is not allowed: must be "ubuntu_noble", the image the control-plane server apk8s-dev3-cp runs`,
			"a new, empty cluster", "allowControlPlaneReplacement = true",
		}}.refused(t)
		set["allowControlPlaneReplacement"] = "true"
		assert.Equal(t, jammy+"/DEV1-M", serverShapes(t, run(set, last).MustDo(t))["apk8s-dev3-cp"])
	})
	t.Run("rollServers naming two servers or an unchanged one is refused", func(t *testing.T) {
		badConfig{"two", run(map[string]string{"serverImage": jammy, "rollServers": "apk8s-dev3-worker-1,apk8s-dev3-worker-2"}, ranServers(t, noble, 3)), []string{
			`apk8s-platform:rollServers = "apk8s-dev3-worker-1,apk8s-dev3-worker-2" is not allowed: must be one server name`,
		}}.refused(t)
		badConfig{"unknown", run(map[string]string{"serverImage": jammy, "rollServers": "apk8s-dev3-worker-9"}, ranServers(t, noble, 3)), []string{
			`apk8s-platform:rollServers = "apk8s-dev3-worker-9" is not allowed: must be one of the servers whose image or type changes (apk8s-dev3-worker-1,`,
		}}.refused(t)
	})
	t.Run("rollServers left set after the roll changes nothing", func(t *testing.T) {
		g := run(map[string]string{"serverImage": jammy, "rollServers": "apk8s-dev3-cp"}, ranServers(t, jammy, 3)).MustDo(t)
		for name, shape := range serverShapes(t, g) {
			assert.True(t, strings.HasPrefix(shape, jammy+"/"), name)
		}
	})
	t.Run("rollServers on a stack without servers is refused", func(t *testing.T) {
		badConfig{"new", run(map[string]string{"rollServers": "apk8s-dev3-worker-1"}, nil), []string{
			`apk8s-platform:rollServers = "apk8s-dev3-worker-1" is not allowed: must be "": no server of this stack runs yet`,
		}}.refused(t)
	})
	t.Run("workers leave one per update", func(t *testing.T) {
		badConfig{"two gone", run(map[string]string{"workerCount": "1", "cephPoolReplicas": "1"}, ranServers(t, noble, 3)), []string{
			`apk8s-platform:workerCount = "1" is not allowed: must be at least 2: one worker leaves per update`,
		}}.refused(t)
		run(map[string]string{"workerCount": "2", "cephPoolReplicas": "2"}, ranServers(t, noble, 3)).MustDo(t)
	})
	t.Run("a new stack takes any image on every server", func(t *testing.T) {
		for name, shape := range serverShapes(t, run(map[string]string{"serverImage": jammy}, nil).MustDo(t)) {
			assert.True(t, strings.HasPrefix(shape, jammy+"/"), name)
		}
	})
}

// TestNoUpdateChangesTwoServers: whatever edit of image and types, with
// or without rollServers naming any server, a deployed cluster's update
// either is refused or changes the image or type of at most one server,
// and never replaces the control plane without the opt-in.
func TestNoUpdateChangesTwoServers(t *testing.T) {
	const noble, jammy = "ubuntu_noble", "ubuntu_jammy"
	ran := map[string]string{"apk8s-dev3-cp": noble + "/DEV1-M"}
	for i := 1; i <= 3; i++ {
		ran[fmt.Sprintf("apk8s-dev3-worker-%d", i)] = noble + "/DEV1-L"
	}
	rolls := []string{"", "apk8s-dev3-cp", "apk8s-dev3-worker-2", "apk8s-dev3-worker-1,apk8s-dev3-worker-3"}
	for _, image := range []string{noble, jammy} {
		for _, worker := range []string{"DEV1-L", "DEV1-XL"} {
			for _, cp := range []string{"DEV1-M", "DEV1-L"} {
				for _, roll := range rolls {
					name := fmt.Sprintf("%s,%s,%s,roll=%s", image, worker, cp, roll)
					set := map[string]string{"serverImage": image, "workerType": worker, "controlPlaneType": cp, "rollServers": roll}
					g, err := Run{Stack: "dev3", Set: set, Last: ranServers(t, noble, 3)}.Do(t)
					if err != nil {
						assert.Empty(t, g.All, "%s: refused before anything is registered", name)
						continue
					}
					changed := 0
					for server, shape := range serverShapes(t, g) {
						if shape != ran[server] {
							changed++
						}
						if server == "apk8s-dev3-cp" {
							assert.True(t, strings.HasPrefix(shape, noble+"/"), "%s: the control plane is not replaced without the opt-in", name)
						}
					}
					assert.LessOrEqual(t, changed, 1, name)
				}
			}
		}
	}
}
