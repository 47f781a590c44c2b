package tests

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/apk8s/apk8s-platform/components/cluster"
)

// testAdmin is a deployer principal for the snapshot bucket.
const testAdmin = "user_id:11111111-2222-3333-4444-555555555555"

// snapshotSet turns S3 snapshots on, on top of set.
func snapshotSet(set map[string]string) map[string]string {
	out := map[string]string{"etcdSnapshots": "s3", "etcdSnapshotAdmins": testAdmin}
	for k, v := range set {
		out[k] = v
	}
	return out
}

// TestSnapshotBucketIsScoped: etcdSnapshots "s3" makes one private bucket
// (no ACL, no versioning, incomplete uploads aborted), an IAM application
// and its API key (its default project the bucket's), and a bucket policy
// whose only grants are this bucket's objects to that application (list,
// read, write, delete) and everything on it to the admins; a kept stack's
// bucket and policy are protected and never force-destroyed, a disposable
// one's are emptied by the teardown.
func TestSnapshotBucketIsScoped(t *testing.T) {
	t.Parallel()
	for _, disposable := range []bool{true, false} {
		set := snapshotSet(map[string]string{"disposable": map[bool]string{true: "true", false: "false"}[disposable]})
		rec := Run{Stack: "dev3", Set: set}.MustRecord(t)
		g := rec.Graph
		bucket := one(t, g, tokBucket, "cluster-etcd-snapshots")
		in := bucket.Plain()
		assert.Equal(t, cluster.BucketName("apk8s-dev3"), in["name"])
		assert.Equal(t, "fr-par", in["region"])
		assert.NotContains(t, in, "acl", "private: no ACL opens it")
		assert.Equal(t, map[string]any{"enabled": false}, in["versioning"])
		assert.Equal(t, disposable, in["forceDestroy"], "only a disposable stack's teardown empties the bucket")
		assert.Equal(t, !disposable, rec.Request(bucket).GetProtect(), "a kept stack's bucket is protected")

		app := one(t, g, tokApp, "cluster-etcd-snapshots-app")
		key := one(t, g, tokApiKey, "cluster-etcd-snapshots-key")
		assert.Equal(t, idOf(app), key.Plain()["applicationId"], "the key is the application's, not the user's")
		assert.Contains(t, key.AdditionalSecretOutputs, "secretKey")

		policy := one(t, g, tokPolicy, "cluster-etcd-snapshots-policy")
		assert.Equal(t, !disposable, rec.Request(policy).GetProtect())
		var doc struct {
			Version   string
			Statement []struct {
				Sid       string
				Effect    string
				Principal map[string]any
				Action    []string
				Resource  []string
			}
		}
		require.NoError(t, json.Unmarshal([]byte(str(policy.Plain(), "policy")), &doc))
		assert.Equal(t, "2023-04-17", doc.Version)
		name := cluster.BucketName("apk8s-dev3")
		principals := map[string][]string{}
		for _, st := range doc.Statement {
			assert.Equal(t, "Allow", st.Effect)
			assert.ElementsMatch(t, []string{name, name + "/*"}, st.Resource, "%s: this bucket only", st.Sid)
			switch p := st.Principal["SCW"].(type) {
			case string:
				principals[p] = st.Action
			case []any:
				for _, x := range p {
					principals[x.(string)] = st.Action
				}
			}
		}
		assert.Equal(t, map[string][]string{
			"application_id:" + idOf(app): {"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
			testAdmin:                     {"s3:*"},
		}, principals, "the application gets its snapshots, the deployer keeps the bucket, nobody else")
		assert.Equal(t, bucket.URN, policyBucket(t, g, policy), "the policy is the bucket's")
	}
}

// policyBucket is the URN of the bucket a policy names.
func policyBucket(t *testing.T, g *Graph, policy *Res) string {
	t.Helper()
	for _, b := range g.Find(tokBucket) {
		if b.Plain()["name"] == policy.Plain()["bucket"] {
			return b.URN
		}
	}
	return ""
}

// TestSnapshotSettingsOverSSH: with snapshots, every server gets the k3s
// S3 settings (regional endpoint, path-style lookup, schedule, retention,
// the application's key) over SSH stdin, as a secret, before its bootstrap
// runs, and runs embedded etcd; the secret key is in no user data and no
// plain input. Without snapshots there is no such command, no bucket and no
// IAM resource.
func TestSnapshotSettingsOverSSH(t *testing.T) {
	t.Parallel()
	for _, servers := range []string{"1", "3"} {
		rec := Run{Stack: "dev3", Set: snapshotSet(map[string]string{"controlPlaneCount": servers, "etcdSnapshotRetention": "10"})}.MustRecord(t)
		g := rec.Graph
		srvs := serverNodes(t, g)
		require.Len(t, srvs, map[string]int{"1": 1, "3": 3}[servers])
		for _, s := range srvs {
			assert.Equal(t, cluster.DatastoreEtcd, envOf(t, cloudConfig(t, s))["K3S_DATASTORE"], "snapshots need etcd")
			cmd := one(t, g, tokRemoteCmd, s.Name+"-etcd-snapshots")
			require.True(t, cmd.Inputs["stdin"].IsSecret())
			var conf map[string]any
			require.NoError(t, yaml.UnmarshalStrict([]byte(str(cmd.Plain(), "stdin")), &conf))
			assert.Equal(t, "s3.fr-par.scw.cloud", conf["etcd-s3-endpoint"])
			assert.Equal(t, "fr-par", conf["etcd-s3-region"])
			assert.Equal(t, "path", conf["etcd-s3-bucket-lookup-type"])
			assert.Equal(t, cluster.BucketName("apk8s-dev3"), conf["etcd-s3-bucket"])
			assert.Equal(t, "0 */6 * * *", conf["etcd-snapshot-schedule-cron"])
			assert.Equal(t, float64(10), conf["etcd-snapshot-retention"])
			assert.Equal(t, true, conf["etcd-s3"])
			assert.Equal(t, rec.S3Secret, conf["etcd-s3-secret-key"])
			assert.Equal(t, cluster.SnapshotsScript(), cmd.Plain()["create"])
			assert.Contains(t, cmd.Plain()["create"], cluster.SnapshotsPath)
			assert.Equal(t, cluster.SnapshotsOffScript(), cmd.Plain()["delete"], "turning snapshots off removes the settings")
			assert.Contains(t, cmd.DependsOn, one(t, g, tokRemoteCmd, s.Name+"-agent-token").URN)
			assert.Contains(t, one(t, g, tokRemoteCmd, s.Name+"-k3s").DependsOn, cmd.URN, "k3s starts with the settings")
			data := str(s.Plain()["userData"].(map[string]any), "cloud-init")
			assert.NotContains(t, data, rec.S3Secret)
			assert.NotContains(t, data, "etcd-s3")
		}
		for _, r := range g.All {
			for _, leak := range secretLeaks(r.Type+" "+r.Name, resource.NewProperty(r.Inputs), rec.Secrets()) {
				t.Error(leak)
			}
		}
	}
	g := Run{Stack: "dev3"}.MustDo(t)
	for _, tok := range []string{tokBucket, tokPolicy, tokApp, tokApiKey} {
		assert.Empty(t, g.Find(tok), tok)
	}
	for _, c := range g.Find(tokRemoteCmd) {
		assert.False(t, strings.HasSuffix(c.Name, "-etcd-snapshots"), c.Name)
	}
}

// TestBadSnapshotConfig: the snapshot keys at their edges.
func TestBadSnapshotConfig(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"1", "500"} {
		_, err := loadConfig(t, Run{Stack: "dev3", Set: snapshotSet(map[string]string{"etcdSnapshotRetention": n})})
		assert.NoError(t, err, n)
	}
	checkBadConfigs(t, []badConfig{
		{"no admin", Run{Stack: "dev3", Set: map[string]string{"etcdSnapshots": "s3"}},
			[]string{`apk8s-platform:etcdSnapshotAdmins = "" is not allowed`, "the bucket policy denies whoever it does not name"}},
		{"a user name for a principal", Run{Stack: "dev3", Set: snapshotSet(map[string]string{"etcdSnapshotAdmins": "alice"})},
			[]string{`apk8s-platform:etcdSnapshotAdmins = "alice" is not allowed`, `"user_id:<uuid>"`}},
		{"another store", Run{Stack: "dev3", Set: snapshotSet(map[string]string{"etcdSnapshots": "gcs"})},
			[]string{`apk8s-platform:etcdSnapshots = "gcs" is not allowed`}},
		{"retention 0", Run{Stack: "dev3", Set: snapshotSet(map[string]string{"etcdSnapshotRetention": "0"})},
			[]string{`apk8s-platform:etcdSnapshotRetention = "0" is not allowed`}},
		{"retention 501", Run{Stack: "dev3", Set: snapshotSet(map[string]string{"etcdSnapshotRetention": "501"})},
			[]string{`apk8s-platform:etcdSnapshotRetention = "501" is not allowed`}},
		{"a schedule of four fields", Run{Stack: "dev3", Set: snapshotSet(map[string]string{"etcdSnapshotSchedule": "0 */6 * *"})},
			[]string{`apk8s-platform:etcdSnapshotSchedule = "0 */6 * *" is not allowed`, "five fields"}},
	})
}
