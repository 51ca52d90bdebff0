// Package client is the clients service's domain: the client record, its team,
// consents and coordinating-worker history, the rules they obey (validation, the
// ACTIVE -> CLOSED lifecycle, who may see whom, what may be disclosed to whom) and
// the Finnish personal identity code. It does no I/O and knows nothing of gRPC,
// Redis or OpenTelemetry.
package client
