// Package alifake runs stateful, protocol-faithful fakes of the Alibaba Cloud APIs the provider uses,
// for tests and for trying the provider without an account:
//
//   - Vpc 2016-04-28 (RPC): VPCs (a default VPC is seeded), vSwitches, tags.
//   - Ecs 2014-05-26 (RPC): security groups and their rules, zones.
//   - Alidns 2015-01-09 (RPC): domains and records; every change is reported to a RecordSink so a DNS
//     server (for example challtestsrv for ACME DNS-01) can publish what the fake holds.
//   - cas 2020-04-07 (RPC): uploaded certificates (PEM parsed, key checked against the certificate).
//   - CS 2015-12-15 (ROA): ACS / ACK managed clusters whose state moves initial → running on an
//     injectable clock and whose kubeconfig points at a real kube-apiserver supplied by the caller.
//
// Each product listens on its own loopback address, as each has its own host in the real cloud, and
// the unchanged v1 SDK (github.com/aliyun/alibaba-cloud-sdk-go) reaches it by setting Domain, Port and
// Scheme on its requests. Every request is authenticated like Alibaba does it: RPC signature v1
// (HMAC-SHA1 over the sorted, percent-encoded parameters, key = secret + "&") and ROA
// "Authorization: acs AK:signature" (HMAC-SHA1 over method, Accept, Content-MD5, Content-Type, Date,
// the x-acs-* headers and the resource). A wrong secret is answered with SignatureDoesNotMatch (400,
// with the server's string to sign in the message, as Alibaba does), an unknown key with
// InvalidAccessKeyId.NotFound (404), a reused nonce with SignatureNonceUsed.
//
// Errors have the shapes the SDK parses: RPC products and the API gateway (signature, throttling)
// answer {"Code","Message","RequestId","HostId","Recommend"}; CS itself answers with lower-case
// {"code","message","requestId"} (for example 404 ErrorClusterNotFound), so the SDK's ServerError
// carries the HTTP status and the raw body (in Message) but no ErrorCode for CS errors. Where Alibaba
// documents no error code (CS CreateCluster validation such as ErrorVpcNotFound or
// ErrorServiceCidrConflict, CAS upload failures such as CertificateKeyNotMatch and NameRepeat, CAS
// NotFound) the code is this fake's own; code that handles them should rely on the HTTP status or on
// the documented codes (ErrorClusterNotFound, DomainRecordDuplicate, DomainRecordNotBelongToUser,
// Invalid*.NotFound, DependencyViolation*, IncorrectVSwitchStatus, Throttling.User).
//
// DescribeTaskInfo answers task_result as an array, as the current API documents it; the v1 SDK's
// typed response declares an object there, so read the raw body (GetHttpContentBytes) for tasks, as
// for DescribeClusterDetail, whose typed response has no fields at all.
//
// Faults are injected per Fake, through the Go API (SetFaults, SetThrottle, FailDeletes,
// SetNotFoundReads, SetPendingReads, SetClusterTimes, SetClusterFailure) or the flags of the
// standalone command (RegisterFlags; internal/testing/cloudfakes/cmd/cloud-fakes): resources that stay NotFound for N reads after they were created,
// Throttling.User on the next N calls of an action or on every Kth call, extra dependency errors on
// delete, vSwitches and VPCs Pending for N reads, and clusters that take a configurable time (on the
// Clock) to become running or to disappear, or that fail with a reason. The inspection API lists what
// the fake holds (VPCs, VSwitches, SecurityGroups, Records, Certificates, Clusters, CallCount), deletes
// resources out of band to simulate drift (DeleteOutOfBand) and marks resources as used by things it
// does not model (SetInUse). Nothing sleeps: cluster states are computed from the Clock when they are
// read, and a ManualClock lets a test move time.
//
// Start/New start the fakes in-process; Env and Describe give the environment variables
// (ALIBABA_CLOUD_ENDPOINT_<PRODUCT>, credentials, region) a standalone starter prints.
package alifake
