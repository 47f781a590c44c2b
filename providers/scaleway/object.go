package scaleway

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/apk8s/apk8s-platform/providers/plugin"
)

// Types of the Object Storage and IAM resources, as the generated SDK
// registers them.
var (
	BucketType = plugin.Type{Package: Package, Token: "scaleway:object/bucket:Bucket",
		Aliases: []string{"scaleway:index/objectBucket:ObjectBucket"}}
	BucketPolicyType = plugin.Type{Package: Package, Token: "scaleway:object/bucketPolicy:BucketPolicy",
		Required: []string{"bucket", "policy"},
		Aliases:  []string{"scaleway:index/objectBucketPolicy:ObjectBucketPolicy"}}
	IamApplicationType = plugin.Type{Package: Package, Token: "scaleway:iam/application:Application",
		Aliases: []string{"scaleway:index/iamApplication:IamApplication"}}
	IamApiKeyType = plugin.Type{Package: Package, Token: "scaleway:iam/apiKey:ApiKey",
		SecretOutputs: []string{"secretKey"},
		Aliases:       []string{"scaleway:index/iamApiKey:IamApiKey"}}
)

// BucketLifecycleRuleArgs is one lifecycle rule of a bucket.
type BucketLifecycleRuleArgs struct {
	Id                                 pulumi.StringInput `pulumi:"id"`
	Enabled                            pulumi.BoolInput   `pulumi:"enabled"`
	AbortIncompleteMultipartUploadDays pulumi.IntInput    `pulumi:"abortIncompleteMultipartUploadDays"`
}

// BucketVersioningArgs turns versioning on or off.
type BucketVersioningArgs struct {
	Enabled pulumi.BoolInput `pulumi:"enabled"`
}

// BucketArgs are the inputs of an Object Storage bucket (object/bucket).
type BucketArgs struct {
	Name           pulumi.StringInput        `pulumi:"name"`
	Region         pulumi.StringInput        `pulumi:"region"`
	ProjectId      pulumi.StringInput        `pulumi:"projectId"`
	ForceDestroy   pulumi.BoolInput          `pulumi:"forceDestroy"`
	Versioning     *BucketVersioningArgs     `pulumi:"versioning"`
	LifecycleRules []BucketLifecycleRuleArgs `pulumi:"lifecycleRules"`
	Tags           pulumi.StringMapInput     `pulumi:"tags"`
}

// Bucket is an Object Storage bucket.
type Bucket struct {
	pulumi.CustomResourceState

	Name      pulumi.StringOutput `pulumi:"name"`
	ProjectId pulumi.StringOutput `pulumi:"projectId"`
}

// NewBucket registers a bucket.
func NewBucket(ctx *pulumi.Context, name string, args *BucketArgs, opts ...pulumi.ResourceOption) (*Bucket, error) {
	return plugin.New[Bucket](ctx, BucketType, name, args, opts...)
}

// BucketPolicyArgs are the inputs of a bucket policy (object/bucketPolicy):
// a JSON document that names who may do what to the bucket.
type BucketPolicyArgs struct {
	Bucket    pulumi.StringInput `pulumi:"bucket"`
	Policy    pulumi.StringInput `pulumi:"policy"`
	Region    pulumi.StringInput `pulumi:"region"`
	ProjectId pulumi.StringInput `pulumi:"projectId"`
}

// BucketPolicy is a bucket's policy.
type BucketPolicy struct {
	pulumi.CustomResourceState
}

// NewBucketPolicy registers a bucket policy.
func NewBucketPolicy(ctx *pulumi.Context, name string, args *BucketPolicyArgs, opts ...pulumi.ResourceOption) (*BucketPolicy, error) {
	return plugin.New[BucketPolicy](ctx, BucketPolicyType, name, args, opts...)
}

// IamApplicationArgs are the inputs of an IAM application (iam/application):
// a principal that is no person.
type IamApplicationArgs struct {
	Name        pulumi.StringInput      `pulumi:"name"`
	Description pulumi.StringInput      `pulumi:"description"`
	Tags        pulumi.StringArrayInput `pulumi:"tags"`
}

// IamApplication is an IAM application.
type IamApplication struct {
	pulumi.CustomResourceState
}

// NewIamApplication registers an IAM application.
func NewIamApplication(ctx *pulumi.Context, name string, args *IamApplicationArgs, opts ...pulumi.ResourceOption) (*IamApplication, error) {
	return plugin.New[IamApplication](ctx, IamApplicationType, name, args, opts...)
}

// IamApiKeyArgs are the inputs of an API key (iam/apiKey); DefaultProjectId
// is the project Object Storage requests signed with it go to.
type IamApiKeyArgs struct {
	ApplicationId    pulumi.StringInput `pulumi:"applicationId"`
	DefaultProjectId pulumi.StringInput `pulumi:"defaultProjectId"`
	Description      pulumi.StringInput `pulumi:"description"`
}

// IamApiKey is an API key; its secret key is a secret output.
type IamApiKey struct {
	pulumi.CustomResourceState

	AccessKey pulumi.StringOutput `pulumi:"accessKey"`
	SecretKey pulumi.StringOutput `pulumi:"secretKey"`
}

// NewIamApiKey registers an API key.
func NewIamApiKey(ctx *pulumi.Context, name string, args *IamApiKeyArgs, opts ...pulumi.ResourceOption) (*IamApiKey, error) {
	return plugin.New[IamApiKey](ctx, IamApiKeyType, name, args, opts...)
}
