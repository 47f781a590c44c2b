package tests

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/apk8s/apk8s-platform/components/cluster"
	"github.com/apk8s/apk8s-platform/stacks"
)

// Tokens of the cluster's resources.
const (
	tokServer     = "scaleway:instance/server:Server"
	tokIP         = "scaleway:instance/ip:Ip"
	tokSG         = "scaleway:instance/securityGroup:SecurityGroup"
	tokPN         = "scaleway:network/privateNetwork:PrivateNetwork"
	tokVPC        = "scaleway:network/vpc:Vpc"
	tokVolume     = "scaleway:block/volume:Volume"
	tokBucket     = "scaleway:object/bucket:Bucket"
	tokPolicy     = "scaleway:object/bucketPolicy:BucketPolicy"
	tokApp        = "scaleway:iam/application:Application"
	tokApiKey     = "scaleway:iam/apiKey:ApiKey"
	tokPassword   = "random:index/randomPassword:RandomPassword"
	tokPrivateKey = "tls:index/privateKey:PrivateKey"
	tokRemoteCmd  = "command:remote:Command"
	tokK8sProv    = "pulumi:providers:kubernetes"
	tokCluster    = "apk8s:cluster:Cluster"
)

// Recorded is a run whose mocks also keep each registration's request (the
// options the harness does not record: version, plugin URL, aliases, ...)
// and, with Fakes, answer like the providers would: a token, a key pair,
// IP addresses, private IPs and a kubeconfig, the secrets among them made
// afresh for every run.
type Recorded struct {
	*Graph
	mu       sync.Mutex
	fakes    bool
	requests map[string]*pulumirpc.RegisterResourceRequest
	outputs  map[string]resource.PropertyMap

	Token, PrivateKey, PublicKey, ClientKey string
	// ServerToken is the k3s server token's fake value; CA the cluster CA
	// of the fake kubeconfig (the cluster's identity).
	ServerToken, CA string
	// S3Secret is the snapshot API key's fake secret key.
	S3Secret string
	// HostKeySalt is in every fake SSH host private key (fakeKeyPair).
	HostKeySalt string
}

func regKey(typ, name, parent string) string { return typ + "\x00" + name + "\x00" + parent }

// Request is the registration request of r.
func (rec *Recorded) Request(r *Res) *pulumirpc.RegisterResourceRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.requests[regKey(r.Type, r.Name, r.Parent)]
}

// Output is the fake output key of r ("" without fakes).
func (rec *Recorded) Output(r *Res, key string) string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	v, ok := rec.outputs[regKey(r.Type, r.Name, r.Parent)][resource.PropertyKey(key)]
	if !ok {
		return ""
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v.StringValue()
}

// Secrets are the fake secret values, each of which may appear in the
// inputs only inside a Pulumi secret.
func (rec *Recorded) Secrets() map[string]string {
	return map[string]string{"k3s agent token": rec.Token, "k3s server token": rec.ServerToken, "snapshot secret key": rec.S3Secret, "SSH private key": rec.PrivateKey, "kubeconfig client key": rec.ClientKey,
		"SSH host private key": rec.HostKeySalt}
}

var publicIPArg = regexp.MustCompile(`PUBLIC_IP='([^']*)'`)

// NewResource records the request and adds the fake outputs.
func (rec *Recorded) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id, state, err := rec.Graph.NewResource(args)
	if err != nil {
		return id, state, err
	}
	rpc := args.RegisterRPC
	key := regKey(args.TypeToken, args.Name, rpc.GetParent())
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.requests[key] = rpc
	if !rec.fakes {
		return id, state, nil
	}
	out := resource.PropertyMap{}
	secret := func(s string) resource.PropertyValue { return resource.MakeSecret(resource.NewProperty(s)) }
	switch args.TypeToken {
	case tokPassword:
		out["result"] = secret(rec.Token)
		if strings.HasSuffix(args.Name, "-server-token") {
			out["result"] = secret(rec.ServerToken)
		}
		out["bcryptHash"] = secret("$2a$10$" + randomHex(20))
	case tokPrivateKey:
		if strings.HasSuffix(args.Name, hostKeySuffix) {
			out["privateKeyOpenssh"], out["publicKeyOpenssh"] = fakeKeyPair(args.Name, rec.HostKeySalt)
			break
		}
		out["privateKeyOpenssh"] = secret(rec.PrivateKey)
		out["publicKeyOpenssh"] = resource.NewProperty(rec.PublicKey)
	case tokApiKey:
		out["accessKey"] = resource.NewProperty("SCWAPK8S" + strings.ToUpper(randomHex(6)))
		out["secretKey"] = secret(rec.S3Secret)
	case tokIP:
		out["address"] = resource.NewProperty(fmt.Sprintf("51.15.100.%d", hostNumber(args.Name)))
	case tokServer:
		n := hostNumber(args.Name)
		out["privateIps"] = resource.NewProperty([]resource.PropertyValue{
			resource.NewProperty(resource.PropertyMap{"address": resource.NewProperty(fmt.Sprintf("fd5f:519c:6d46:2728::%d/64", n)), "id": resource.NewProperty("v6")}),
			resource.NewProperty(resource.PropertyMap{"address": resource.NewProperty(fmt.Sprintf("172.16.16.%d/22", n)), "id": resource.NewProperty("v4")}),
		})
	case tokRemoteCmd:
		if !strings.HasSuffix(args.Name, "-kubeconfig") {
			break
		}
		ip := ""
		if m := publicIPArg.FindStringSubmatch(args.Inputs["create"].StringValue()); m != nil {
			ip = m[1]
		}
		out["stdout"] = secret(fmt.Sprintf("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: %s\n    server: https://%s:6443\n  name: default\nusers:\n- name: default\n  user:\n    client-key-data: %s\n", rec.CA, ip, rec.ClientKey))
		out["stderr"] = resource.NewProperty("apk8s: 4 nodes Ready")
	}
	rec.outputs[key] = out
	merged := state.Copy()
	for k, v := range out {
		merged[k] = v
	}
	return id, merged, nil
}

// hostNumber is a fake address's last number, the same for a name in
// every run (registrations arrive in no fixed order): 10 for the control
// plane, 10+i for worker i.
func hostNumber(name string) int {
	var i int
	if _, worker, ok := strings.Cut(name, "worker-"); ok {
		_, _ = fmt.Sscanf(worker, "%d", &i)
	}
	return 10 + i
}

// Record is Do with the recording mocks; fakes switches the fake outputs on.
func (run Run) Record(t testing.TB, fakes bool) (*Recorded, error) {
	t.Helper()
	return run.recordLike(t, fakes, nil)
}

// recordLike records with the fake secrets of like (fresh ones when nil),
// so that two runs can be compared input for input.
func (run Run) recordLike(t testing.TB, fakes bool, like *Recorded) (*Recorded, error) {
	t.Helper()
	rec := &Recorded{
		Graph:       run.graph(),
		fakes:       fakes,
		requests:    map[string]*pulumirpc.RegisterResourceRequest{},
		outputs:     map[string]resource.PropertyMap{},
		Token:       "tok" + randomHex(22),
		PrivateKey:  "-----BEGIN OPENSSH PRIVATE KEY-----\n" + randomHex(32) + "\n-----END OPENSSH PRIVATE KEY-----\n",
		PublicKey:   "ssh-ed25519 AAAAC3" + randomHex(16),
		ClientKey:   "LS0t" + randomHex(24),
		HostKeySalt: "host" + randomHex(12),
		ServerToken: "srv" + randomHex(22),
		CA:          "Q0Et" + randomHex(16),
		S3Secret:    "s3s" + randomHex(18),
	}
	if like != nil {
		rec.Token, rec.PrivateKey, rec.PublicKey, rec.ClientKey, rec.HostKeySalt = like.Token, like.PrivateKey, like.PublicKey, like.ClientKey, like.HostKeySalt
		rec.ServerToken, rec.CA, rec.S3Secret = like.ServerToken, like.CA, like.S3Secret
	}
	return rec, run.Exec(t, rec)
}

// MustRecord runs with fakes and requires success.
func (run Run) MustRecord(t testing.TB) *Recorded {
	t.Helper()
	rec, err := run.Record(t, true)
	require.NoError(t, err)
	return rec
}

// one is the single registration of token named name.
func one(t testing.TB, g *Graph, token, name string) *Res {
	t.Helper()
	for _, r := range g.Find(token) {
		if r.Name == name {
			return r
		}
	}
	require.Failf(t, "resource missing", "no %s named %q", token, name)
	return nil
}

func idOf(r *Res) string { return r.Name + "-id" } // the harness's mock IDs

func str(m map[string]any, key string) string { s, _ := m[key].(string); return s }

func strs(v any) []string {
	var out []string
	items, _ := v.([]any)
	for _, x := range items {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// servers of a cluster by role: the control plane and the workers in order.
func servers(t testing.TB, g *Graph) (cp *Res, workers []*Res) {
	t.Helper()
	for _, r := range g.Find(tokServer) {
		if strings.HasSuffix(r.Name, "-cp") {
			require.Nil(t, cp, "one control plane")
			cp = r
		} else {
			workers = append(workers, r)
		}
	}
	require.NotNil(t, cp, "a control plane")
	sort.Slice(workers, func(i, j int) bool { return workers[i].Name < workers[j].Name })
	return cp, workers
}

// TestClusterServers: the book's sizes in dev3 (one DEV1-M control plane,
// three DEV1-L workers), types and count from config, every server in the
// security group, on the private network and behind its own public IP.
func TestClusterServers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name           string
		set            map[string]string
		cpType, wkType string
		workers        int
	}{
		{"book sizes", nil, "DEV1-M", "DEV1-L", 3},
		{"from config", map[string]string{"controlPlaneType": "PLAY2-MICRO", "workerType": "PRO2-S", "workerCount": "5"}, "PLAY2-MICRO", "PRO2-S", 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := Run{Stack: "dev3", Set: tt.set}.Shared(t).Graph
			cp, workers := servers(t, g)
			require.Len(t, workers, tt.workers)
			assert.Equal(t, tt.cpType, str(cp.Plain(), "type"))
			assert.Equal(t, "apk8s-dev3-cp", str(cp.Plain(), "name"))
			for i, w := range workers {
				assert.Equal(t, tt.wkType, str(w.Plain(), "type"), w.Name)
				assert.Equal(t, fmt.Sprintf("apk8s-dev3-worker-%d", i+1), str(w.Plain(), "name"))
			}

			sgs, pns := g.Find(tokSG), g.Find(tokPN)
			require.Len(t, sgs, 1)
			require.Len(t, pns, 1)
			require.Len(t, g.Find(tokVPC), 1)
			assert.Equal(t, idOf(g.Find(tokVPC)[0]), str(pns[0].Plain(), "vpcId"), "the private network is in the cluster's VPC")
			assert.Equal(t, "172.16.16.0/22", str(pns[0].Plain()["ipv4Subnet"].(map[string]any), "subnet"))
			assert.Equal(t, "fr-par", str(pns[0].Plain(), "region"))

			ips := map[string]bool{}
			for _, s := range append([]*Res{cp}, workers...) {
				in := s.Plain()
				assert.Equal(t, "ubuntu_noble", str(in, "image"), s.Name)
				assert.Equal(t, "fr-par-1", str(in, "zone"), s.Name)
				assert.Equal(t, idOf(sgs[0]), str(in, "securityGroupId"), "%s is in the security group", s.Name)
				assert.Equal(t, []any{map[string]any{"pnId": idOf(pns[0])}}, in["privateNetworks"], "%s is on the private network", s.Name)
				ipIDs := strs(in["ipIds"])
				require.Len(t, ipIDs, 1, "%s has one public IP", s.Name)
				assert.Equal(t, s.Name+"-ip-id", ipIDs[0], "%s uses its own flexible IP", s.Name)
				assert.False(t, ips[ipIDs[0]], "IPs are not shared")
				ips[ipIDs[0]] = true
				assert.Nil(t, in["enableDynamicIp"], "no dynamic IP besides the flexible one")
				assert.Equal(t, map[string]any{"deleteOnTermination": true}, in["rootVolume"], "the root volume goes with %s", s.Name)
			}
			assert.Len(t, g.Find(tokIP), tt.workers+1, "one flexible IP per server, no other")
		})
	}
}

// TestClusterFirewall: inbound default drop; 80 and 443 from anywhere; 22
// and 6443 only from the admin CIDRs; anything from the private network;
// nothing else.
func TestClusterFirewall(t *testing.T) {
	t.Parallel()
	admins := `["198.51.100.7/32", "2001:db8:1::/48"]`
	g := Run{Stack: "dev3", Set: map[string]string{"adminCidrs": admins}}.Shared(t).Graph
	sgs := g.Find(tokSG)
	require.Len(t, sgs, 1)
	in := sgs[0].Plain()
	assert.Equal(t, "drop", in["inboundDefaultPolicy"])
	assert.Equal(t, "accept", in["outboundDefaultPolicy"])
	assert.Equal(t, true, in["stateful"])
	assert.Nil(t, in["outboundRules"])

	type rule struct {
		Action, Protocol, IPRange string
		Port                      float64
	}
	var got []rule
	for _, r := range in["inboundRules"].([]any) {
		m := r.(map[string]any)
		port, _ := m["port"].(float64)
		got = append(got, rule{str(m, "action"), str(m, "protocol"), str(m, "ipRange"), port})
	}
	want := []rule{
		{"accept", "TCP", "0.0.0.0/0", 80},
		{"accept", "TCP", "0.0.0.0/0", 443},
		{"accept", "TCP", "198.51.100.7/32", 22},
		{"accept", "TCP", "2001:db8:1::/48", 22},
		{"accept", "TCP", "198.51.100.7/32", 6443},
		{"accept", "TCP", "2001:db8:1::/48", 6443},
		{"accept", "ANY", "172.16.16.0/22", 0},
	}
	assert.ElementsMatch(t, want, got)
	for _, r := range in["inboundRules"].([]any) {
		if str(r.(map[string]any), "protocol") == "ANY" {
			assert.NotContains(t, r, "port", "a rule for every port names none")
		}
	}
}

// TestClusterCephVolumes: one raw Block Storage volume per worker, attached
// to that worker only; none on the control plane; the servers wait for
// their volumes, so a destroy detaches before it deletes.
func TestClusterCephVolumes(t *testing.T) {
	t.Parallel()
	g := Run{Stack: "dev3"}.Shared(t).Graph
	cp, workers := servers(t, g)
	vols := g.Find(tokVolume)
	require.Len(t, vols, len(workers))
	assert.Nil(t, cp.Plain()["additionalVolumeIds"], "the control plane gets no Ceph volume")
	attached := map[string]string{}
	for _, w := range workers {
		ids := strs(w.Plain()["additionalVolumeIds"])
		require.Len(t, ids, 1, "%s has one extra volume", w.Name)
		vol := one(t, g, tokVolume, w.Name+"-ceph")
		assert.Equal(t, idOf(vol), ids[0], "%s has its own volume", w.Name)
		assert.Contains(t, w.DependsOn, vol.URN)
		attached[ids[0]] = w.Name
		in := vol.Plain()
		assert.Equal(t, float64(50), in["sizeInGb"])
		assert.Equal(t, float64(5000), in["iops"])
		assert.Equal(t, "fr-par-1", in["zone"], "the volume is in the servers' zone")
	}
	assert.Len(t, attached, len(workers))

	g = Run{Stack: "dev3", Set: map[string]string{"cephVolumeSizeGb": "200", "cephVolumeIops": "15000"}}.Shared(t).Graph
	for _, vol := range g.Find(tokVolume) {
		assert.Equal(t, float64(200), vol.Plain()["sizeInGb"])
		assert.Equal(t, float64(15000), vol.Plain()["iops"])
	}
}

// TestClusterLeavesNothingBilled: every billable thing (servers, IPs,
// volumes) is a resource of the stack, deleted by `pulumi destroy`: none is
// protected or retained, and the servers use the stack's IPs instead of
// ones the provider would make on the side.
func TestClusterLeavesNothingBilled(t *testing.T) {
	t.Parallel()
	rec, err := Run{Stack: "dev3"}.Record(t, false)
	require.NoError(t, err)
	for _, r := range rec.All {
		if !strings.HasPrefix(r.Type, "scaleway:") {
			continue
		}
		req := rec.Request(r)
		require.NotNil(t, req)
		assert.False(t, req.GetProtect(), "%s %s is protected", r.Type, r.Name)
		assert.False(t, req.GetRetainOnDelete(), "%s %s would outlive the stack", r.Type, r.Name)
	}
}

// cloudConfig parses a server's cloud-init user data.
func cloudConfig(t *testing.T, s *Res) cluster.CloudConfig {
	t.Helper()
	ud := s.Inputs["userData"]
	require.True(t, ud.IsObject(), s.Name)
	require.True(t, ud.ObjectValue()["cloud-init"].IsSecret(), "%s: the user data holds the join token, so it is a secret", s.Name)
	raw := str(s.Plain()["userData"].(map[string]any), "cloud-init")
	require.True(t, strings.HasPrefix(raw, "#cloud-config\n"), "%s: a cloud-config", s.Name)
	var cc cluster.CloudConfig
	require.NoError(t, yaml.UnmarshalStrict([]byte(raw), &cc), s.Name)
	return cc
}

func file(t *testing.T, cc cluster.CloudConfig, path string) cluster.WriteFile {
	t.Helper()
	for _, f := range cc.WriteFiles {
		if f.Path == path {
			return f
		}
	}
	require.Failf(t, "file missing", "no %s in write_files", path)
	return cluster.WriteFile{}
}

func envOf(t *testing.T, cc cluster.CloudConfig) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(file(t, cc, cluster.EnvPath).Content), "\n") {
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, line)
		env[k] = strings.Trim(v, "'")
	}
	return env
}

// TestClusterCloudInit: k3s by cloud-init. The control plane runs a k3s
// server without Traefik and ServiceLB, with secrets encrypted at rest, its
// certificate valid for its public IP and private DNS name; the agents
// join with the agent token; every node gets the metadata firewall and its
// unit before the bootstrap runs, and the workers boot with the control
// plane, not after it.
func TestClusterCloudInit(t *testing.T) {
	t.Parallel()
	rec := Run{Stack: "dev3"}.Shared(t)
	g := rec.Graph
	cp, workers := servers(t, g)
	// The agents find the control plane by its name on the private
	// network's DNS: <server>.<private network>.internal.
	const cpHost = "apk8s-dev3-cp.apk8s-dev3.internal"
	cpIP := rec.Output(one(t, g, tokIP, cp.Name+"-ip"), "address")
	require.NotEmpty(t, cpIP)

	for _, s := range append([]*Res{cp}, workers...) {
		cc := cloudConfig(t, s)
		env := envOf(t, cc)
		k3sFile := file(t, cc, cluster.K3sConfigPath)
		assert.Equal(t, "0600", k3sFile.Permissions, "only root reads k3s's config")
		var k3s cluster.K3sConfig
		require.NoError(t, yaml.UnmarshalStrict([]byte(k3sFile.Content), &k3s))

		assert.Equal(t, StackConfig(t, "dev3")[stacks.Project+":k3sVersion"], env["K3S_VERSION"])
		assert.Equal(t, "172.16.16.0/22", env["PRIVATE_CIDR"])
		assert.Equal(t, cpHost, env["SERVER_HOST"])
		script := file(t, cc, cluster.BootstrapPath)
		assert.Equal(t, "0755", script.Permissions)
		assert.Equal(t, [][]string{{cluster.BootstrapPath}}, cc.RunCmd)
		keys := file(t, cc, cluster.AuthorizedKeysPath)
		assert.True(t, keys.Append, "the project's SSH keys stay")
		assert.Equal(t, rec.PublicKey+"\n", keys.Content, "%s lets the program's key in", s.Name)

		// The firewall that keeps pods from the metadata API, loaded by a
		// unit that k3s requires and that runs at every boot.
		assert.Contains(t, cc.Packages, "nftables")
		nft := file(t, cc, cluster.MetadataBlockPath).Content
		for _, rule := range []string{"hook forward", "ip daddr 169.254.42.42 counter drop", "ip6 daddr fd00:42::42 counter drop",
			"hook output", "ip daddr 169.254.42.42 meta skuid != 0 counter drop"} {
			assert.Contains(t, nft, rule, s.Name)
		}
		unit := file(t, cc, cluster.MetadataBlockUnitPath).Content
		for _, line := range []string{"Before=network-pre.target k3s.service k3s-agent.service", "RequiredBy=k3s.service k3s-agent.service",
			"WantedBy=multi-user.target", "ExecStart=/usr/sbin/nft -f " + cluster.MetadataBlockPath, "RemainAfterExit=yes"} {
			assert.Contains(t, unit, line, s.Name)
		}

		if s == cp {
			assert.Equal(t, "server", env["K3S_ROLE"])
			assert.ElementsMatch(t, []string{"traefik", "servicelb"}, k3s.Disable)
			assert.Equal(t, []string{cpIP, cpHost}, k3s.TLSSAN)
			assert.Equal(t, "0600", k3s.WriteKubeconfigMode)
			assert.True(t, k3s.SecretsEncryption, "secrets are encrypted in the datastore")
			assert.Equal(t, []string{"node-role.kubernetes.io/control-plane:NoSchedule"}, k3s.NodeTaint)
		} else {
			assert.Equal(t, "agent", env["K3S_ROLE"])
			assert.Empty(t, k3s.Disable)
			assert.Empty(t, k3s.TLSSAN)
			assert.False(t, k3s.SecretsEncryption)
			// In parallel: nothing of the control plane's goes into a worker.
			assert.NotContains(t, s.DependsOn, cp.URN)
			assert.NotContains(t, s.DependsOn, one(t, g, tokIP, cp.Name+"-ip").URN)
		}
	}
	assert.Equal(t, "apk8s-dev3", str(g.Find(tokPN)[0].Plain(), "name"))
}

// TestClusterTokens traces every value the program generates (the fake
// RandomPassword results) into the servers' user data: the control plane's
// holds none of them and no token at all, each worker's k3s config holds
// the agent token and only in k3s's config file; the control plane gets the
// server token and the agent token over SSH, on the command's stdin,
// before its bootstrap runs.
func TestClusterTokens(t *testing.T) {
	t.Parallel()
	rec := Run{Stack: "dev3"}.Shared(t)
	g := rec.Graph
	cp, workers := servers(t, g)

	var passwords []*Res
	for _, p := range g.Find(tokPassword) {
		if strings.HasPrefix(p.Name, "cluster-") {
			passwords = append(passwords, p)
		}
	}
	require.Len(t, passwords, 2, "two generated tokens: the agent token and the server token")
	agent := one(t, g, tokPassword, "cluster-k3s-agent-token")
	server := one(t, g, tokPassword, "cluster-k3s-server-token")
	for _, p := range passwords {
		assert.Equal(t, float64(48), p.Plain()["length"])
		assert.Equal(t, false, p.Plain()["special"])
	}
	token := rec.Output(agent, "result")
	require.Equal(t, rec.Token, token)
	serverToken := rec.Output(server, "result")
	require.Equal(t, rec.ServerToken, serverToken)

	generated := map[string]string{}
	for _, p := range passwords {
		generated[p.Name] = rec.Output(p, "result")
	}
	cpData := str(cp.Plain()["userData"].(map[string]any), "cloud-init")
	for name, value := range generated {
		assert.NotContains(t, cpData, value, "the control plane's user data holds %s", name)
	}
	var cpK3s map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(file(t, cloudConfig(t, cp), cluster.K3sConfigPath).Content), &cpK3s))
	assert.NotContains(t, cpK3s, "token", "the server token comes over SSH")
	assert.NotContains(t, cpK3s, "agent-token", "the agent token comes over SSH")

	for _, w := range workers {
		cc := cloudConfig(t, w)
		var k3s map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(file(t, cc, cluster.K3sConfigPath).Content), &k3s))
		assert.Equal(t, map[string]any{"token": token}, k3s, "%s joins with the agent token and nothing else", w.Name)
		for _, f := range cc.WriteFiles {
			if f.Path != cluster.K3sConfigPath {
				assert.NotContains(t, f.Content, token, "%s: the token is only in %s", f.Path, cluster.K3sConfigPath)
			}
		}
	}

	deliver := one(t, g, tokRemoteCmd, "cluster-cp-agent-token")
	in := deliver.Plain()
	assert.Equal(t, rec.Output(one(t, g, tokIP, cp.Name+"-ip"), "address"), in["connection"].(map[string]any)["host"])
	require.True(t, deliver.Inputs["stdin"].IsSecret(), "the token goes in as a secret")
	var stdin map[string]any
	require.NoError(t, yaml.UnmarshalStrict([]byte(str(in, "stdin")), &stdin))
	assert.Equal(t, map[string]any{"token": serverToken, "agent-token": token}, stdin, "stdin carries the two tokens as k3s's config keys, and nothing else")
	assert.Contains(t, deliver.AdditionalSecretOutputs, "stdin")
	for _, key := range []string{"create", "update"} {
		assert.NotContains(t, in[key], token, "never on the command line")
		assert.NotContains(t, in[key], serverToken, "never on the command line")
		assert.Equal(t, cluster.TokensScript(), in[key])
	}
	assert.Equal(t, "stderr", in["logging"])
	assert.Equal(t, []any{idOf(cp)}, in["triggers"], "a new control plane gets the token again")
	assert.Contains(t, one(t, g, tokRemoteCmd, "cluster-cp-k3s").DependsOn, deliver.URN, "the token is there before the bootstrap is run again")
}

// secretLeaks walks v and reports every place where one of the secret
// values shows outside a Pulumi secret.
func secretLeaks(path string, v resource.PropertyValue, secrets map[string]string) []string {
	switch {
	case v.IsSecret():
		return nil
	case v.IsString():
		var out []string
		for what, s := range secrets {
			if s != "" && strings.Contains(v.StringValue(), s) {
				out = append(out, fmt.Sprintf("%s holds the %s in plain text", path, what))
			}
		}
		return out
	case v.IsArray():
		var out []string
		for i, x := range v.ArrayValue() {
			out = append(out, secretLeaks(fmt.Sprintf("%s[%d]", path, i), x, secrets)...)
		}
		return out
	case v.IsObject():
		var out []string
		for k, x := range v.ObjectValue() {
			out = append(out, secretLeaks(path+"."+string(k), x, secrets)...)
		}
		return out
	case v.IsOutput():
		if v.OutputValue().Secret {
			return nil
		}
		return secretLeaks(path, v.OutputValue().Element, secrets)
	}
	return nil
}

// TestClusterSecretsStaySecret: the join token, the SSH private key and the
// kubeconfig appear in no input of any resource of dev3 except inside a
// Pulumi secret; the outputs that carry them are stored as secrets; and the
// kubeconfig command does not stream its stdout into the update log.
func TestClusterSecretsStaySecret(t *testing.T) {
	t.Parallel()
	rec := Run{Stack: "dev3"}.Shared(t)
	require.NotEmpty(t, secretLeaks("probe", resource.NewProperty("x"+rec.Token), rec.Secrets()), "the walk finds a plain secret")
	var leaks []string
	for _, r := range rec.All {
		leaks = append(leaks, secretLeaks(r.Type+" "+r.Name, resource.NewProperty(r.Inputs), rec.Secrets())...)
	}
	assert.Empty(t, leaks)

	secretOutputs := map[string][]string{
		tokPassword:   {"result"},
		tokPrivateKey: {"privateKeyOpenssh"},
		tokRemoteCmd:  {"connection"},
		tokServer:     {"userData"},
	}
	for token, keys := range secretOutputs {
		require.NotEmpty(t, rec.Find(token), token)
		for _, r := range rec.Find(token) {
			for _, k := range keys {
				assert.Contains(t, r.AdditionalSecretOutputs, k, "%s %s stores %s as a secret", token, r.Name, k)
			}
		}
	}
	for _, cmd := range rec.Find(tokRemoteCmd) {
		assert.True(t, cmd.Inputs["connection"].IsSecret(), "%s: the SSH connection (with its key) is a secret", cmd.Name)
	}
	cmd := one(t, rec.Graph, tokRemoteCmd, "cluster-kubeconfig")
	assert.Contains(t, cmd.AdditionalSecretOutputs, "stdout", "the kubeconfig is stored as a secret")
	assert.Equal(t, "stderr", cmd.Plain()["logging"], "the kubeconfig must not be streamed to the log")
}

// TestClusterKubeconfigAndProvider: the kubeconfig is read from the control
// plane over SSH with the generated key once the API server is ready,
// rewritten to the public address, and is a secret; the Kubernetes provider
// is built from it, is bound to the control plane's identity, never drops
// objects of an unreachable cluster from the state on its own (the teardown
// sets PULUMI_K8S_DELETE_UNREACHABLE for its one run), and every Kubernetes
// object of dev3 uses it, none the ambient kubeconfig.
func TestClusterKubeconfigAndProvider(t *testing.T) {
	t.Parallel()
	rec := Run{Stack: "dev3"}.Shared(t)
	g := rec.Graph
	cp, workers := servers(t, g)
	cpIP := rec.Output(one(t, g, tokIP, cp.Name+"-ip"), "address")

	cmd := one(t, g, tokRemoteCmd, "cluster-kubeconfig")
	conn := cmd.Plain()["connection"].(map[string]any)
	assert.Equal(t, cpIP, conn["host"])
	assert.Equal(t, "root", conn["user"])
	assert.Equal(t, rec.PrivateKey, conn["privateKey"], "the key the program generated")
	create := str(cmd.Plain(), "create")
	assert.Contains(t, create, "PUBLIC_IP='"+cpIP+"'")
	assert.Contains(t, create, fmt.Sprintf("NODES=%d", 1+len(workers)))
	for _, want := range []string{"/etc/rancher/k3s/k3s.yaml", "get --raw /readyz", "s#https://127.0.0.1:6443#https://${PUBLIC_IP}:6443#"} {
		assert.Contains(t, create, want)
	}
	assert.Equal(t, []any{idOf(cp)}, cmd.Plain()["triggers"], "a new control plane is read again")
	for _, s := range append([]*Res{cp}, workers...) {
		assert.Contains(t, cmd.DependsOn, one(t, g, tokRemoteCmd, s.Name+"-k3s").URN, "the command waits for k3s on %s", s.Name)
	}

	provs := g.Find(tokK8sProv)
	require.Len(t, provs, 1, "one Kubernetes provider")
	prov := provs[0]
	require.True(t, prov.Inputs["kubeconfig"].IsSecret(), "the provider's kubeconfig is a secret")
	kubeconfig := str(prov.Plain(), "kubeconfig")
	assert.Equal(t, rec.Output(cmd, "stdout"), kubeconfig, "the provider uses the kubeconfig read from the cluster")
	assert.Contains(t, kubeconfig, "server: https://"+cpIP+":6443")
	assert.NotContains(t, prov.Plain(), "deleteUnreachable", "a refresh that cannot reach the cluster must not empty the state")
	identity, err := cluster.CAIdentity(kubeconfig)
	require.NoError(t, err)
	assert.Regexp(t, "^ca-sha256:[0-9a-f]{64}$", identity)
	assert.Equal(t, identity, prov.Plain()["clusterIdentifier"], "objects are replaced only with a new cluster CA, not with a new server")
	assert.Nil(t, prov.Plain()["context"])
	assert.Equal(t, one(t, g, tokCluster, "cluster").URN, prov.Parent)

	provRef := prov.URN + "::" + idOf(prov)
	var objects int
	for _, r := range g.All {
		if strings.HasPrefix(r.Type, "kubernetes:") {
			objects++
			assert.Equal(t, provRef, r.Provider, "%s %s uses the cluster's provider", r.Type, r.Name)
		}
	}
	assert.NotZero(t, objects, "dev3 deploys Kubernetes objects")
}

// TestClusterKubeconfigOutputIsSecret: the component's kubeconfig output
// is a secret even before the provider sees it; its address outputs list
// every node's public IP and private IPv4 address.
func TestClusterKubeconfigOutputIsSecret(t *testing.T) {
	t.Parallel()
	var secret, addrSecret bool
	var private, public []string
	_, err := Run{Stack: "dev3", Program: func(ctx *pulumi.Context) error {
		cfg, err := stacks.Load(ctx)
		if err != nil {
			return err
		}
		cl, err := cluster.New(ctx, "cluster", cluster.Args{Prefix: stacks.ResourcePrefix(ctx.Stack()), Config: cfg.Scaleway.Cluster})
		if err != nil {
			return err
		}
		secret = pulumi.IsSecret(cl.Kubeconfig)
		addrSecret = pulumi.IsSecret(cl.ControlPlaneAddress)
		cl.PrivateAddresses.ApplyT(func(v []string) []string { private = v; return v })
		cl.PublicAddresses.ApplyT(func(v []string) []string { public = v; return v })
		return nil
	}}.Record(t, true)
	require.NoError(t, err)
	assert.True(t, secret, "kubeconfig is a secret output")
	assert.False(t, addrSecret, "addresses are not secret")
	require.Len(t, private, 4)
	require.Len(t, public, 4)
	for i := range private {
		assert.Regexp(t, `^172\.16\.16\.\d+$`, private[i], "the IPv4 address on the private network")
		assert.Regexp(t, `^51\.15\.100\.\d+$`, public[i])
	}
}

// TestBadClusterConfigFailsBeforeAnyResource: malformed cluster config
// fails with the key, the value and what is allowed, before anything is
// registered.
func TestBadClusterConfigFailsBeforeAnyResource(t *testing.T) {
	t.Parallel()
	checkBadConfigs(t, []badConfig{
		{"server type format", Run{Stack: "dev3", Set: map[string]string{"controlPlaneType": "dev1-m"}},
			[]string{`apk8s-platform:controlPlaneType = "dev1-m" is not allowed`, "a Scaleway instance type"}},
		{"worker type with a space", Run{Stack: "dev3", Set: map[string]string{"workerType": "DEV1 L"}},
			[]string{`apk8s-platform:workerType = "DEV1 L"`, "a Scaleway instance type"}},
		{"zero workers", Run{Stack: "dev3", Set: map[string]string{"workerCount": "0"}},
			[]string{`apk8s-platform:workerCount = "0"`, "a whole number from 1 to 20"}},
		{"API server open to the world", Run{Stack: "dev3", Set: map[string]string{"adminCidrs": "0.0.0.0/0"}},
			[]string{`apk8s-platform:adminCidrs = "0.0.0.0/0" is not allowed`, "the API server (6443) to the whole internet", "apk8s-platform:allowAnyAdminCidr"}},
		{"IPv6 world", Run{Stack: "dev3", Set: map[string]string{"adminCidrs": `["198.51.100.7/32", "::/0"]`}},
			[]string{`apk8s-platform:adminCidrs = "::/0" is not allowed`}},
		{"no admin CIDR", Run{Stack: "dev3", Set: map[string]string{"adminCidrs": ""}},
			[]string{`apk8s-platform:adminCidrs = "" is not allowed`, "at least one CIDR"}},
		{"empty JSON list", Run{Stack: "dev3", Set: map[string]string{"adminCidrs": "[]"}},
			[]string{`apk8s-platform:adminCidrs = "[]" is not allowed`, "at least one CIDR"}},
		{"address without prefix", Run{Stack: "dev3", Set: map[string]string{"adminCidrs": "192.0.2.44"}},
			[]string{`apk8s-platform:adminCidrs = "192.0.2.44"`, "(for one address: 192.0.2.44/32)"}},
		{"IPv6 address without prefix", Run{Stack: "dev3", Set: map[string]string{"adminCidrs": "2001:db8::7"}},
			[]string{`apk8s-platform:adminCidrs = "2001:db8::7"`, "(for one address: 2001:db8::7/128)"}},
		{"host bits set", Run{Stack: "dev3", Set: map[string]string{"adminCidrs": "198.51.100.7/24"}},
			[]string{`apk8s-platform:adminCidrs = "198.51.100.7/24"`, "host bits zero: 198.51.100.0/24"}},
		{"broken JSON", Run{Stack: "dev3", Set: map[string]string{"adminCidrs": `["198.51.100.7/32"`}},
			[]string{`apk8s-platform:adminCidrs = "[\"198.51.100.7/32\""`, "a JSON list"}},
		{"unknown zone", Run{Stack: "dev3", Set: map[string]string{"scalewayZone": "fr-par-4"}},
			[]string{`apk8s-platform:scalewayZone = "fr-par-4"`, `"fr-par-1"`}},
		{"not an Ubuntu LTS", Run{Stack: "dev3", Set: map[string]string{"serverImage": "debian_bookworm"}},
			[]string{`apk8s-platform:serverImage = "debian_bookworm"`, `"ubuntu_jammy", "ubuntu_noble"`}},
		{"private network in 10/8", Run{Stack: "dev3", Set: map[string]string{"privateNetworkCidr": "10.0.0.0/16"}},
			[]string{`apk8s-platform:privateNetworkCidr = "10.0.0.0/16"`, "172.16.0.0/12 or 192.168.0.0/16"}},
		{"private network too large", Run{Stack: "dev3", Set: map[string]string{"privateNetworkCidr": "172.16.0.0/19"}},
			[]string{`apk8s-platform:privateNetworkCidr = "172.16.0.0/19"`, "from /20 to /28"}},
		{"private network too small", Run{Stack: "dev3", Set: map[string]string{"privateNetworkCidr": "192.168.4.0/29"}},
			[]string{`apk8s-platform:privateNetworkCidr = "192.168.4.0/29"`, "from /20 to /28"}},
		{"IOPS class", Run{Stack: "dev3", Set: map[string]string{"cephVolumeIops": "3000"}},
			[]string{`apk8s-platform:cephVolumeIops = "3000"`, `"15000", "5000"`}},
		{"volume too small", Run{Stack: "dev3", Set: map[string]string{"cephVolumeSizeGb": "0"}},
			[]string{`apk8s-platform:cephVolumeSizeGb = "0"`, "from 10 to 10000"}},
		{"k3s version", Run{Stack: "dev3", Set: map[string]string{"k3sVersion": "1.34"}},
			[]string{`apk8s-platform:k3sVersion = "1.34"`, "a k3s release"}},
		{"project ID", Run{Stack: "dev3", Set: map[string]string{"scalewayProjectId": "my-project"}},
			[]string{`apk8s-platform:scalewayProjectId = "my-project"`, "a lower-case UUID"}},
		{"malformed in a stack without the cluster", Run{Stack: "local", Set: map[string]string{"workerType": "large"}},
			[]string{`apk8s-platform:workerType = "large"`}},
		{"the internet in two halves", Run{Stack: "dev3", Set: map[string]string{"adminCidrs": "0.0.0.0/1,128.0.0.0/1"}},
			[]string{`apk8s-platform:adminCidrs = "0.0.0.0/1,128.0.0.0/1" is not allowed`, "together cover at most a /8 of IPv4 (16777216 addresses)",
				"the API server (6443) to the whole internet", "apk8s-platform:allowAnyAdminCidr"}},
		{"three quarters of the internet, overlapping", Run{Stack: "dev3", Set: map[string]string{"adminCidrs": `["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "64.0.0.0/3", "198.51.100.7/32"]`}},
			[]string{`apk8s-platform:adminCidrs = "0.0.0.0/2,64.0.0.0/2,128.0.0.0/2,64.0.0.0/3,198.51.100.7/32" is not allowed`, "75.0% of the IPv4 internet (3221225473 addresses)"}},
		{"IPv6 in halves beside a fine IPv4", Run{Stack: "dev3", Set: map[string]string{"adminCidrs": "198.51.100.7/32,::/1,8000::/1"}},
			[]string{`apk8s-platform:adminCidrs = "::/1,8000::/1" is not allowed`, "a /32 of IPv6", "the whole internet (every IPv6 address)"}},
		{"IPv4 written as IPv6", Run{Stack: "dev3", Set: map[string]string{"adminCidrs": "::ffff:0.0.0.0/96"}},
			[]string{`apk8s-platform:adminCidrs = "::ffff:0.0.0.0/96" is not allowed`, "an IPv4 CIDR in IPv4 form"}},
		{"render a stack that builds the cluster", Run{Stack: "dev3", Set: map[string]string{"renderYamlToDirectory": "out/dev3"}},
			[]string{`apk8s-platform:renderYamlToDirectory = "out/dev3" is not allowed`, `must be "" with cluster "scaleway"`,
				"the next up would delete the cluster", "pulumi up -s render"}},
		{"too many workers", Run{Stack: "dev3", Set: map[string]string{"workerCount": "12"}},
			[]string{`apk8s-platform:workerCount = "12" is not allowed`, "from 1 to 6, or up to 20 with apk8s-platform:allowLargeCluster = true"}},
		{"too many workers even when large", Run{Stack: "dev3", Set: map[string]string{"workerCount": "21", "allowLargeCluster": "true"}},
			[]string{`apk8s-platform:workerCount = "21" is not allowed`, "from 1 to 20"}},
		{"volume too large", Run{Stack: "dev3", Set: map[string]string{"cephVolumeSizeGb": "10000"}},
			[]string{`apk8s-platform:cephVolumeSizeGb = "10000" is not allowed`, "from 10 to 500, or up to 10000 with apk8s-platform:allowLargeCluster = true"}},
		{"GPU control plane", Run{Stack: "dev3", Set: map[string]string{"controlPlaneType": "GPU-3070-S"}},
			[]string{`apk8s-platform:controlPlaneType = "GPU-3070-S" is not allowed`, `"DEV1-M"`, "up to 8 vCPU and 32 GB", "apk8s-platform:allowLargeCluster = true"}},
		{"large worker type", Run{Stack: "dev3", Set: map[string]string{"workerType": "PRO2-L"}},
			[]string{`apk8s-platform:workerType = "PRO2-L" is not allowed`, "apk8s-platform:allowLargeCluster = true"}},
		{"every problem at once", Run{Stack: "dev3", Set: map[string]string{"workerCount": "0", "adminCidrs": "0.0.0.0/0", "controlPlaneType": "m"}},
			[]string{`workerCount = "0"`, `adminCidrs = "0.0.0.0/0"`, `controlPlaneType = "m"`}},
	})
}

// loadConfig runs stacks.Load alone.
func loadConfig(t *testing.T, run Run) (*stacks.Config, error) {
	t.Helper()
	var cfg *stacks.Config
	run.Program = func(ctx *pulumi.Context) error {
		var err error
		cfg, err = stacks.Load(ctx)
		return err
	}
	_, err := run.Do(t)
	return cfg, err
}

// TestClusterConfigOptIns: the world may reach the API server only on
// purpose, with a warning, whole or in pieces; a large cluster only with
// allowLargeCluster; admin CIDRs and the cross-field checks do not bother
// stacks that build no cluster; a documentation address warns.
func TestClusterConfigOptIns(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(t, Run{Stack: "dev3", Set: map[string]string{"adminCidrs": "0.0.0.0/0", "allowAnyAdminCidr": "true"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"0.0.0.0/0"}, cfg.Scaleway.Cluster.AdminCIDRs)
	assert.True(t, slices.ContainsFunc(cfg.Warnings, func(w string) bool { return strings.Contains(w, "open to the whole internet") }), cfg.Warnings)

	cfg, err = loadConfig(t, Run{Stack: "dev3"})
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(cfg.Warnings, func(w string) bool { return strings.Contains(w, "documentation addresses") }),
		"dev3's placeholder admin CIDR warns: %v", cfg.Warnings)

	cfg, err = loadConfig(t, Run{Stack: "dev3", Set: map[string]string{"adminCidrs": "198.51.100.7/32, 81.2.69.0/24"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"198.51.100.7/32", "81.2.69.0/24"}, cfg.Scaleway.Cluster.AdminCIDRs, "comma-separated works too")
	assert.False(t, slices.ContainsFunc(cfg.Warnings, func(w string) bool { return strings.Contains(w, "adminCidrs") }), cfg.Warnings)

	cfg, err = loadConfig(t, Run{Stack: "dev3", Set: map[string]string{"adminCidrs": "0.0.0.0/1,128.0.0.0/1", "allowAnyAdminCidr": "true"}})
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(cfg.Warnings, func(w string) bool {
		return strings.Contains(w, "0.0.0.0/1,128.0.0.0/1: SSH and the API server of the cluster are open to the whole internet")
	}), cfg.Warnings)

	cfg, err = loadConfig(t, Run{Stack: "dev3", Set: map[string]string{"adminCidrs": "81.0.0.0/9,81.128.0.0/9,2001:db8::/33,2001:db8:8000::/33"}})
	require.NoError(t, err, "a /8 of IPv4 and a /32 of IPv6 in pieces are the limit, not past it")
	assert.Len(t, cfg.Scaleway.Cluster.AdminCIDRs, 4)

	cfg, err = loadConfig(t, Run{Stack: "dev3", Set: map[string]string{"allowLargeCluster": "true",
		"controlPlaneType": "GPU-3070-S", "workerType": "PRO2-L", "workerCount": "20", "cephVolumeSizeGb": "10000"}})
	require.NoError(t, err, "allowLargeCluster lifts the small bounds")
	assert.Equal(t, 20, cfg.Scaleway.Cluster.Workers)
	assert.Equal(t, 10000, cfg.Scaleway.Cluster.CephVolumeSizeGB)
	assert.Equal(t, "GPU-3070-S", cfg.Scaleway.Cluster.ControlPlaneType)

	_, err = loadConfig(t, Run{Stack: "local", Set: map[string]string{"adminCidrs": "0.0.0.0/0"}})
	require.NoError(t, err, "a stack without the Scaleway cluster ignores its cross-field checks")
	g := Run{Stack: "local"}.Shared(t).Graph
	for _, r := range g.All {
		assert.False(t, strings.HasPrefix(r.Type, "scaleway:") || r.Type == tokCluster, "local builds no cloud servers: %s", r.Type)
	}
}

// TestResourcePrefix: stack names become DNS labels.
func TestResourcePrefix(t *testing.T) {
	t.Parallel()
	for stack, want := range map[string]string{
		"dev3":                  "apk8s-dev3",
		"Team_A.Dev":            "apk8s-team-a-dev",
		"--":                    "apk8s-stack",
		strings.Repeat("x", 80): "apk8s-" + strings.Repeat("x", 30),
		// The edges of the kept characters, and the length kept whole.
		"az09":                         "apk8s-az09",
		"`a{z/0:9":                     "apk8s-a-z-0-9",
		strings.Repeat("y", 30):        "apk8s-" + strings.Repeat("y", 30),
		strings.Repeat("y", 29) + "-z": "apk8s-" + strings.Repeat("y", 29),
	} {
		assert.Equal(t, want, stacks.ResourcePrefix(stack), stack)
	}
}

// TestClusterScriptsParse: the node bootstrap and the kubeconfig command
// are valid bash (and clean under shellcheck, where it is installed).
func TestClusterScriptsParse(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	scripts, err := filepath.Glob(filepath.Join(repoRoot, "components", "cluster", "*.sh"))
	require.NoError(t, err)
	require.Len(t, scripts, 6, "k3s-bootstrap.sh, k3s-tokens.sh, etcd-restore.sh, kubeconfig.sh, ci-wireguard.sh, k3s-renew.sh")
	for _, s := range scripts {
		out, err := exec.Command(bash, "-n", s).CombinedOutput()
		assert.NoError(t, err, "%s: %s", s, out)
		if sc, err := exec.LookPath("shellcheck"); err == nil {
			out, err := exec.Command(sc, "-s", "bash", "-e", "SC1091", s).CombinedOutput()
			assert.NoError(t, err, "%s: %s", s, out)
		}
	}
}

// TestClusterUpgradesInPlace: every node has a remote command that runs its
// bootstrap again, in turn (control plane first, then each worker after the
// one before). A new k3sVersion changes only those commands' scripts and the
// servers' user data (updated in place): the preview shows one update per
// node and no replacement, and the provider keeps its cluster identity.
func TestClusterUpgradesInPlace(t *testing.T) {
	t.Parallel()
	prefix := stacks.ResourcePrefix("dev3")
	runs := map[string]*Recorded{}
	var first *Recorded
	for _, version := range []string{"v1.34.6+k3s1", "v1.34.9+k3s1"} {
		rec, err := Run{Stack: "dev3", Set: map[string]string{"k3sVersion": version}}.recordLike(t, true, first)
		require.NoError(t, err)
		first, runs[version] = rec, rec
		g := rec.Graph
		cp, workers := servers(t, g)
		previous := one(t, g, tokRemoteCmd, "cluster-cp-agent-token")
		for _, s := range append([]*Res{cp}, workers...) {
			cmd := one(t, g, tokRemoteCmd, s.Name+"-k3s")
			in := cmd.Plain()
			assert.Equal(t, rec.Output(one(t, g, tokIP, s.Name+"-ip"), "address"), in["connection"].(map[string]any)["host"], "%s runs on its node", cmd.Name)
			node := cluster.Node{Role: cluster.RoleAgent, K3sVersion: version, PrivateCIDR: "172.16.16.0/22", ServerHost: cluster.ControlPlaneHost(prefix)}
			if s == cp {
				node.Role, node.Datastore, node.Servers = cluster.RoleServer, cluster.DatastoreSQLite, 1
			}
			want, err := cluster.ReconcileScript(node)
			require.NoError(t, err)
			assert.Equal(t, want, in["create"], cmd.Name)
			assert.Equal(t, want, in["update"], "%s: a changed script runs again on update", cmd.Name)
			assert.Contains(t, want, "K3S_VERSION='"+version+"'")
			assert.Contains(t, want, "exec "+cluster.BootstrapPath)
			assert.Contains(t, want, "ip daddr 169.254.42.42", "running nodes get the metadata firewall too")
			assert.Equal(t, []any{idOf(s)}, in["triggers"], "a new server runs it again")
			assert.Contains(t, cmd.DependsOn, s.URN)
			assert.Contains(t, cmd.DependsOn, previous.URN, "%s waits for %s: one node at a time", cmd.Name, previous.Name)
			previous = cmd
		}
	}

	// What differs between the two runs: only the scripts and user data.
	before, after := runs["v1.34.6+k3s1"], runs["v1.34.9+k3s1"]
	require.Len(t, after.All, len(before.All), "no resource comes or goes")
	for _, b := range before.All {
		a := after.ByURN(b.URN)
		require.NotNil(t, a, b.URN)
		ignored := before.Request(b).GetIgnoreChanges()
		for key, bv := range b.Plain() {
			av := a.Plain()[key]
			changed := fmt.Sprint(av) != fmt.Sprint(bv)
			switch {
			case slices.ContainsFunc(ignored, func(p string) bool { return p == key || strings.HasPrefix(p, key+".") }):
				// The engine keeps the old value (the basic-auth salt).
			case b.Type == tokRemoteCmd && strings.HasSuffix(b.Name, "-k3s") && (key == "create" || key == "update"):
				assert.True(t, changed, "%s %s changes with the version", b.Name, key)
			case b.Type == tokServer && key == "userData":
				assert.True(t, changed, "%s: the user data a new server would boot with", b.Name)
			default:
				assert.False(t, changed, "%s %s.%s changes with k3sVersion", b.Type, b.Name, key)
			}
		}
	}
}

// TestClusterWorkersDeletedBeforeReplaced: a replaced worker is deleted
// before its successor is created (its Ceph volume is attached to one
// server at a time); the control plane keeps the default.
func TestClusterWorkersDeletedBeforeReplaced(t *testing.T) {
	t.Parallel()
	rec, err := Run{Stack: "dev3"}.Record(t, false)
	require.NoError(t, err)
	cp, workers := servers(t, rec.Graph)
	require.NotEmpty(t, workers)
	for _, w := range workers {
		assert.True(t, rec.Request(w).GetDeleteBeforeReplace(), "%s is deleted before it is replaced", w.Name)
	}
	assert.False(t, rec.Request(cp).GetDeleteBeforeReplace())
}

// TestPrivateNetworkEdges: a private network of /20 and one of /28, the
// largest and the smallest allowed, are taken as they are.
func TestPrivateNetworkEdges(t *testing.T) {
	t.Parallel()
	for _, cidr := range []string{"172.16.0.0/20", "192.168.4.0/28"} {
		cfg, err := loadConfig(t, Run{Stack: "dev3", Set: map[string]string{"privateNetworkCidr": cidr}})
		require.NoError(t, err, cidr)
		assert.Equal(t, cidr, cfg.Scaleway.Cluster.PrivateCIDR)
	}
}
