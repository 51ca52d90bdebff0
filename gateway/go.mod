module github.com/polku-hb/polku/gateway

go 1.26.0

require (
	github.com/grpc-ecosystem/grpc-gateway/v2 v2.33.0 // indirect
	github.com/rs/cors v1.11.1 // indirect
)
