module github.com/polku-hb/polku/web

go 1.26.0

require (
	github.com/polku-hb/polku/proto/gen/go v0.0.0
	google.golang.org/genproto v0.0.0-20261026165753-2ffab32bce7e
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/grpc-ecosystem/grpc-gateway/v2 v2.33.0 // indirect
	golang.org/x/net v0.61.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20261104224025-d1e00e9f33ab // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261104224025-d1e00e9f33ab // indirect
	google.golang.org/grpc v1.84.0 // indirect
)

// The monorepo's modules are not published: outside the workspace (container
// builds with GOWORK=off) they resolve to their folders.
replace github.com/polku-hb/polku/proto/gen/go => ../proto/gen/go
