package agentcfg

//go:generate go run ./internal/gen -ref ../../shared/reference/deepflow-agent -out .
