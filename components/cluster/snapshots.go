package cluster

import (
	"encoding/json"
	"fmt"
	"path"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"sigs.k8s.io/yaml"

	"github.com/apk8s/apk8s-platform/providers/command"
	"github.com/apk8s/apk8s-platform/providers/scaleway"
)

// Snapshots are the etcd snapshot settings of the servers: k3s takes them
// on its schedule and keeps Retention of them in a private Object Storage
// bucket that only the cluster's own IAM application and Admins reach.
type Snapshots struct {
	Schedule  string // cron, k3s's etcd-snapshot-schedule-cron
	Retention int    // snapshots k3s keeps
	// Admins are the principals that keep full access to the bucket beside
	// the cluster's application ("user_id:<id>", "application_id:<id>"):
	// the deployer among them, or the bucket policy locks Pulumi out.
	Admins []string
	// Disposable stacks' buckets are emptied and removed by the teardown;
	// any other bucket is protected.
	Disposable bool
}

// SnapshotsPath is the k3s config drop-in with the S3 settings and the
// application's key, written over SSH (SnapshotsScript), never in user data.
const SnapshotsPath = "/etc/rancher/k3s/config.yaml.d/20-etcd-snapshots.yaml"

// BucketName is the snapshot bucket of the stack with prefix.
func BucketName(prefix string) string { return prefix + "-etcd-snapshots" }

// S3Endpoint is Object Storage's regional endpoint.
func S3Endpoint(region string) string { return "s3." + region + ".scw.cloud" }

// SnapshotConfig is the k3s config of the snapshots (the drop-in at
// SnapshotsPath): a secret, as it holds the secret key.
type SnapshotConfig struct {
	Schedule  string `json:"etcd-snapshot-schedule-cron"`
	Retention int    `json:"etcd-snapshot-retention"`
	S3        bool   `json:"etcd-s3"`
	Endpoint  string `json:"etcd-s3-endpoint"`
	Region    string `json:"etcd-s3-region"`
	Bucket    string `json:"etcd-s3-bucket"`
	Lookup    string `json:"etcd-s3-bucket-lookup-type"`
	AccessKey string `json:"etcd-s3-access-key"`
	SecretKey string `json:"etcd-s3-secret-key"`
	Compress  bool   `json:"etcd-snapshot-compress"`
}

// bucketPolicy is the bucket's policy document: the cluster's application
// may list, read, write and delete its snapshots and nothing else; the
// admins keep every right (a bucket policy denies whoever it does not name,
// the bucket's owner included).
func bucketPolicy(bucket, application string, admins []string) (string, error) {
	resources := []string{bucket, bucket + "/*"}
	doc := map[string]any{
		"Version": "2023-04-17",
		"Id":      bucket,
		"Statement": []map[string]any{
			{
				"Sid":       "k3s-etcd-snapshots",
				"Effect":    "Allow",
				"Principal": map[string]any{"SCW": "application_id:" + application},
				"Action":    []string{"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
				"Resource":  resources,
			},
			{
				"Sid":       "admins",
				"Effect":    "Allow",
				"Principal": map[string]any{"SCW": admins},
				"Action":    []string{"s3:*"},
				"Resource":  resources,
			},
		},
	}
	b, err := json.Marshal(doc)
	return string(b), err
}

// snapshotStore makes the bucket, the cluster's IAM application with its
// API key, and the bucket policy; it returns the k3s config drop-in (a
// secret) the servers get over SSH.
func (b *builder) snapshotStore(s *Snapshots) (pulumi.StringOutput, error) {
	name := BucketName(b.prefix)
	protect := pulumi.Protect(!s.Disposable)
	bucket, err := scaleway.NewBucket(b.ctx, b.name+"-etcd-snapshots", &scaleway.BucketArgs{
		Name:      pulumi.String(name),
		Region:    pulumi.String(b.cfg.Region),
		ProjectId: b.project(),
		// A disposable stack's teardown empties and removes it.
		ForceDestroy: pulumi.Bool(s.Disposable),
		// No versioning: k3s's retention deletes the snapshots it no longer
		// keeps, and versions would keep them anyway (and versioning, once
		// on, can only be suspended).
		Versioning: &scaleway.BucketVersioningArgs{Enabled: pulumi.Bool(false)},
		LifecycleRules: []scaleway.BucketLifecycleRuleArgs{{
			Id: pulumi.String("abort-incomplete-uploads"), Enabled: pulumi.Bool(true),
			AbortIncompleteMultipartUploadDays: pulumi.Int(1),
		}},
		Tags: pulumi.StringMap{"stack": pulumi.String(b.prefix)},
	}, b.parent, protect)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	app, err := scaleway.NewIamApplication(b.ctx, b.name+"-etcd-snapshots-app", &scaleway.IamApplicationArgs{
		Name:        pulumi.String(name),
		Description: pulumi.String("k3s of " + b.prefix + ": writes etcd snapshots to the bucket " + name + " and nothing else"),
		Tags:        b.tags(),
	}, b.parent)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	key, err := scaleway.NewIamApiKey(b.ctx, b.name+"-etcd-snapshots-key", &scaleway.IamApiKeyArgs{
		ApplicationId: app.ID().ToStringOutput(),
		// Object Storage requests signed with it go to the bucket's project.
		DefaultProjectId: bucket.ProjectId,
		Description:      pulumi.String("k3s etcd snapshots of " + b.prefix),
	}, b.parent)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	policy := app.ID().ToStringOutput().ApplyT(func(id string) (string, error) {
		return bucketPolicy(name, id, s.Admins)
	}).(pulumi.StringOutput)
	if _, err := scaleway.NewBucketPolicy(b.ctx, b.name+"-etcd-snapshots-policy", &scaleway.BucketPolicyArgs{
		Bucket:    bucket.Name,
		Policy:    policy,
		Region:    pulumi.String(b.cfg.Region),
		ProjectId: bucket.ProjectId,
	}, b.parent, protect); err != nil {
		return pulumi.StringOutput{}, err
	}
	conf := pulumi.All(key.AccessKey, key.SecretKey).ApplyT(func(v []any) (string, error) {
		return SnapshotDropIn(SnapshotConfig{
			Schedule: s.Schedule, Retention: s.Retention, S3: true, Compress: true,
			Endpoint: S3Endpoint(b.cfg.Region), Region: b.cfg.Region, Bucket: name, Lookup: "path",
			AccessKey: v[0].(string), SecretKey: v[1].(string),
		})
	}).(pulumi.StringOutput)
	return pulumi.ToSecret(conf).(pulumi.StringOutput), nil
}

// SnapshotDropIn renders the drop-in.
func SnapshotDropIn(c SnapshotConfig) (string, error) {
	b, err := yaml.Marshal(c)
	return string(b), err
}

// SnapshotsScript is the remote command that writes the snapshot drop-in
// from stdin (never the command line) and restarts k3s when it changed on
// a server that runs it; a new server's bootstrap starts k3s with it.
func SnapshotsScript() string {
	return fmt.Sprintf(`set -eu
umask 077
mkdir -p %[1]s
cat > %[2]s.apk8s-new
if cmp -s %[2]s.apk8s-new %[2]s; then rm -f %[2]s.apk8s-new; exit 0; fi
mv -f %[2]s.apk8s-new %[2]s
if systemctl is-active --quiet k3s; then systemctl restart k3s; echo "apk8s-k3s: etcd snapshot settings changed; k3s restarted" >&2; fi
`, path.Dir(SnapshotsPath), SnapshotsPath)
}

// SnapshotsOffScript removes the drop-in when snapshots are turned off.
func SnapshotsOffScript() string {
	return fmt.Sprintf("set -eu\nif [ -e %[1]s ]; then rm -f %[1]s; systemctl is-active --quiet k3s && systemctl restart k3s; fi\nexit 0\n", SnapshotsPath)
}

// deliverSnapshots writes the drop-in on server srv after after.
func (b *builder) deliverSnapshots(name string, ip *scaleway.Ip, srv *scaleway.Server, conf pulumi.StringOutput, after pulumi.Resource) (*command.RemoteCommand, error) {
	script := pulumi.String(SnapshotsScript())
	return command.NewRemoteCommand(b.ctx, name, &command.RemoteCommandArgs{
		Connection: b.ssh(ip, srv),
		Create:     script,
		Update:     script,
		Delete:     pulumi.String(SnapshotsOffScript()),
		Stdin:      conf,
		Triggers:   pulumi.Array{srv.ID()},
		Logging:    pulumi.String(command.LogStderr),
	}, b.parent, pulumi.DependsOn([]pulumi.Resource{after}), pulumi.AdditionalSecretOutputs([]string{"stdin"}))
}
