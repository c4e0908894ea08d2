# Flattens block-style YAML mappings into path=value lines, keeping only the
# path in `want` when it is set. Enough for DeepFlow's server.yaml and app.yaml.
/^[ \t]*#/ || /^[ \t]*$/ || /^[ \t]*- / { next }
{
	match($0, /^ */)
	ind = RLENGTH
	line = substr($0, ind + 1)
	if (index(line, ":") == 0) next
	k = line; sub(/:.*/, "", k)
	v = line; sub(/^[^:]*:[ \t]*/, "", v); sub(/[ \t]+#.*$/, "", v)
	while (n > 0 && inds[n] >= ind) n--
	n++; inds[n] = ind; keys[n] = k
	if (v == "") next
	p = keys[1]
	for (i = 2; i <= n; i++) p = p "." keys[i]
	gsub(/^["']|["']$/, "", v)
	if (want == "" || want == p) print p "=" v
}
