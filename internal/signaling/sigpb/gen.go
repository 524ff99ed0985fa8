// Package sigpb holds the protobuf messages of the Chime signaling protocol
// (signal.proto). The generated code is committed, so building Carillon needs
// no protoc; regenerating needs protoc and protoc-gen-go v1.36.12.
package sigpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative signal.proto
