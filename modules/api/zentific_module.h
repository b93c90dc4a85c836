/* zentific_module.h — the C ABI between Zentific and its modules, version 1.
 *
 * A module is a shared library libzentific_module_<name>.so exporting:
 *   const uint32_t zentific_module_abi_version;        read first; must be 1
 *   const zentific_descriptor *zentific_module_descriptor(void);
 *
 * Text is UTF-8 given as pointer + length (no NUL needed). Values are XML-RPC <value>
 * documents. Buffers a module returns are allocated by the module and handed back to its
 * free() by the host. Every function must return instead of unwinding or aborting.
 * The descriptor is append-only; `size` is sizeof(zentific_descriptor) as built.
 * Checked against the Rust definitions (modules/api/src/lib.rs) by modules/api/tests/header.rs.
 */
#ifndef ZENTIFIC_MODULE_H
#define ZENTIFIC_MODULE_H

#include <stddef.h>
#include <stdint.h>

#define ZENTIFIC_MODULE_ABI_VERSION 1u

/* Layers (bit flags of zentific_descriptor.layers). */
#define ZENTIFIC_LAYER_FRONTEND 1u
#define ZENTIFIC_LAYER_XMLRPC 2u
#define ZENTIFIC_LAYER_SCHEDULER 4u
#define ZENTIFIC_LAYER_POLLER 8u

/* Status codes every entry point returns. */
#define ZENTIFIC_OK 0        /* answer holds the result <value> */
#define ZENTIFIC_FAULT 1     /* answer holds a fault struct <value> (faultCode, faultString) */
#define ZENTIFIC_PANICKED 2  /* the module failed internally; answer may hold a message */
#define ZENTIFIC_BAD_INPUT 3 /* input not UTF-8 or not a <value> */

typedef struct zentific_bytes {
    const uint8_t *ptr;
    size_t len;
} zentific_bytes;

typedef struct zentific_buffer {
    uint8_t *ptr;
    size_t len;
    size_t cap;
} zentific_buffer;

typedef struct zentific_caller {
    int32_t user_id; /* 0 for public methods and the system */
    uint32_t role;   /* 0 none, 1 user, 2 operator, 3 admin */
} zentific_caller;

typedef int32_t (*zentific_create_fn)(zentific_bytes config, void **instance,
                                      zentific_buffer *error);
typedef int32_t (*zentific_call_fn)(void *instance, zentific_caller caller,
                                    zentific_bytes method, zentific_bytes params,
                                    zentific_buffer *answer);
typedef void (*zentific_free_fn)(zentific_buffer buffer);
typedef void (*zentific_destroy_fn)(void *instance);

typedef struct zentific_descriptor {
    size_t size;
    zentific_bytes name;          /* namespace: 1-32 of a-z 0-9 _, starting with a letter */
    zentific_bytes version;
    zentific_bytes description;
    uint32_t layers;
    zentific_bytes config_schema; /* JSON */
    zentific_bytes methods;       /* JSON */
    zentific_create_fn create;
    zentific_call_fn call;
    zentific_free_fn free;
    zentific_destroy_fn destroy;
    /* Appended fields: a module built before one existed has a smaller size, and the host
     * reads only what the size covers. */
    zentific_bytes provides;      /* JSON: transports, collectors, pages (may be empty) */
} zentific_descriptor;

/* The size of the fields every module of this ABI version has (through destroy). */
#define ZENTIFIC_DESCRIPTOR_MIN_SIZE (offsetof(zentific_descriptor, destroy) + sizeof(zentific_destroy_fn))

#endif
