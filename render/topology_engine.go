package render

// EnvNames exposes the names of the variables .env defines, for the engine
// (it tells the user which line holds the Grafana password).
func EnvNames() Env { return envNames }
