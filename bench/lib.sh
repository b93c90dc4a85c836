# bench/lib.sh: small helpers the benchmark scripts share (sourced, not run).

# A TCP port on 127.0.0.1 that is free now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Wait (at most 10 s) until an XML-RPC server answers system.version at URL.
wait_for_xmlrpc() {
    local url="$1"
    for _ in $(seq 100); do
        python3 -c "import xmlrpc.client as x; x.ServerProxy('$url').system.version()" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "no XML-RPC server answered at $url" >&2
    return 1
}
