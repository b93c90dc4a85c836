/*
 * bench/peers/xmlrpc_c_server.c: benchmark peer on the C library xmlrpc-c
 * with its built-in Abyss HTTP server.
 *
 * Serves the same payload as the zentific benchmark seed:
 *   vm.list(token, filter) -> array of 100 VM structs, rebuilt on every call
 *                             (parameters are checked for (string, struct)
 *                             and otherwise ignored)
 *   system.listMethods()   -> built into xmlrpc-c's registry
 *
 * Usage: xmlrpc_c_server PORT   (listens on 127.0.0.1:PORT, path /RPC2)
 * Build: gcc -O2 xmlrpc_c_server.c $(xmlrpc-c-config abyss-server --cflags --libs)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <xmlrpc-c/base.h>
#include <xmlrpc-c/server.h>
#include <xmlrpc-c/server_abyss.h>

#define VM_COUNT 100

/* Set struct member `key` to `value` and drop our reference to `value`. */
static void set_member(xmlrpc_env *env, xmlrpc_value *s, const char *key,
                       xmlrpc_value *value) {
    if (env->fault_occurred)
        return;
    xmlrpc_struct_set_value(env, s, key, value);
    xmlrpc_DECREF(value);
}

/* One VM record, the same fields and values as the zentific seed. */
static xmlrpc_value *build_vm(xmlrpc_env *env, int i) {
    char uuid[40], name[16];
    snprintf(uuid, sizeof uuid, "00000000-0000-4000-8000-%012d", i);
    snprintf(name, sizeof name, "vm-%03d", i);

    xmlrpc_value *s = xmlrpc_struct_new(env);
    if (env->fault_occurred)
        return NULL;
    set_member(env, s, "id", xmlrpc_int_new(env, i));
    set_member(env, s, "uuid", xmlrpc_string_new(env, uuid));
    set_member(env, s, "name", xmlrpc_string_new(env, name));
    set_member(env, s, "node", xmlrpc_int_new(env, 1));
    set_member(env, s, "node_name", xmlrpc_string_new(env, "bench-node"));
    set_member(env, s, "type", xmlrpc_string_new(env, i % 2 == 0 ? "PV" : "HVM"));
    set_member(env, s, "os", xmlrpc_string_new(env, "linux"));
    set_member(env, s, "state", xmlrpc_string_new(env, "stopped"));
    set_member(env, s, "memory_kb", xmlrpc_i8_new(env, 524288));
    set_member(env, s, "max_memory_kb", xmlrpc_i8_new(env, 1048576));
    set_member(env, s, "vcpus", xmlrpc_int_new(env, 1 + (i % 4)));
    set_member(env, s, "owner", xmlrpc_int_new(env, 1));
    if (env->fault_occurred) {
        xmlrpc_DECREF(s);
        return NULL;
    }
    return s;
}

/* vm.list(string token, struct filter): both accepted and ignored. */
static xmlrpc_value *vm_list(xmlrpc_env *env, xmlrpc_value *params,
                             void *server_info, void *call_info) {
    (void)server_info;
    (void)call_info;

    const char *token;
    xmlrpc_value *filter;
    xmlrpc_decompose_value(env, params, "(sS)", &token, &filter);
    if (env->fault_occurred)
        return NULL;
    free((void *)token);
    xmlrpc_DECREF(filter);

    xmlrpc_value *list = xmlrpc_array_new(env);
    for (int i = 1; i <= VM_COUNT && !env->fault_occurred; i++) {
        xmlrpc_value *vm = build_vm(env, i);
        if (env->fault_occurred)
            break;
        xmlrpc_array_append_item(env, list, vm);
        xmlrpc_DECREF(vm);
    }
    if (env->fault_occurred) {
        xmlrpc_DECREF(list);
        return NULL;
    }
    return list;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);

    xmlrpc_env env;
    xmlrpc_env_init(&env);

    xmlrpc_registry *registry = xmlrpc_registry_new(&env);
    struct xmlrpc_method_info3 const vm_list_info = {
        .methodName = "vm.list",
        .methodFunction = vm_list,
        .signatureString = "A:sS",
        .help = "List VMs (benchmark payload: 100 fixed records).",
    };
    xmlrpc_registry_add_method3(&env, registry, &vm_list_info);
    if (env.fault_occurred) {
        fprintf(stderr, "registry: %s\n", env.fault_string);
        return 1;
    }

    /* Bind to 127.0.0.1 only. */
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    xmlrpc_server_abyss_parms parms;
    memset(&parms, 0, sizeof parms);
    parms.config_file_name = NULL;
    parms.registryP = registry;
    parms.port_number = (unsigned int)port;
    parms.log_file_name = NULL;
    /* Keep connections open across requests (the default caps a connection
       at 30 requests), like the other servers under HTTP/1.1 keep-alive. */
    parms.keepalive_timeout = 60;
    parms.keepalive_max_conn = 1000000;
    parms.uri_path = "/RPC2";
    parms.sockaddr_p = (const struct sockaddr *)&addr;
    parms.sockaddrlen = sizeof addr;
    /* Abyss serves one connection per thread; the default limit is 15, below
       the benchmark's connection count. */
    parms.max_conn = 1024;
    parms.max_conn_backlog = 1024;

    /* Runs forever; SIGTERM ends the process. */
    xmlrpc_server_abyss(&env, &parms, XMLRPC_APSIZE(max_conn_backlog));
    if (env.fault_occurred) {
        fprintf(stderr, "abyss: %s\n", env.fault_string);
        return 1;
    }
    return 0;
}
