/* Name maps and identifier spelling. User names reach four target languages
 * (C, CUDA C++, OpenCL C, Metal), each with its own keywords and builtins;
 * a name that any of them reserves is emitted as kiln_u_NAME. Names that
 * begin with kiln_ are reserved for the emitters (sema rejects them). */
#include "sema.h"

#include <string.h>

static unsigned map_hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % LANG_MAP_BUCKETS;
}

void *lang_map_get(const lang_map *m, const char *key)
{
    for (const lang_map_entry *e = m->buckets[map_hash(key)]; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e->value;
    return NULL;
}

void lang_map_put(lang_ctx *ctx, lang_map *m, const char *key, void *value)
{
    unsigned h = map_hash(key);
    for (lang_map_entry *e = m->buckets[h]; e; e = e->next)
        if (strcmp(e->key, key) == 0) {
            e->value = value;
            return;
        }
    lang_map_entry *e = lang_alloc(ctx, sizeof *e);
    e->key = key;
    e->value = value;
    e->next = m->buckets[h];
    m->buckets[h] = e;
}

static const char *const reserved_words[] = {
    /* C */
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
    "union", "unsigned", "void", "volatile", "while", "main", "abs", "memcpy", "memset",
    /* C++ */
    "alignas", "alignof", "and", "and_eq", "asm", "bitand", "bitor", "bool", "catch", "class",
    "compl", "constexpr", "const_cast", "decltype", "delete", "dynamic_cast", "explicit",
    "export", "false", "friend", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
    "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "reinterpret_cast",
    "static_assert", "static_cast", "template", "this", "thread_local", "throw", "true", "try",
    "typeid", "typename", "using", "virtual", "wchar_t", "xor", "xor_eq", "std", "min", "max",
    /* CUDA */
    "threadIdx", "blockIdx", "blockDim", "gridDim", "warpSize", "dim3", "uint3",
    /* OpenCL C and Metal */
    "kernel", "global", "local", "constant", "device", "threadgroup", "thread", "read_only",
    "write_only", "read_write", "image2d_t", "image3d_t", "sampler_t", "event_t", "half",
    "uchar", "ushort", "uint", "ulong", "size_t", "ptrdiff_t", "intptr_t", "uintptr_t",
    "barrier", "mem_fence", "clamp", "dot", "length", "normalize", "cross", "mad", "mix",
    "sign", "step", "select", "any", "all", "rsqrt", "fract", "distance", "metal",
    /* math library */
    "sqrt", "exp", "exp2", "log", "log2", "pow", "sin", "cos", "tan", "tanh", "fabs", "floor",
    "ceil", "fmin", "fmax", "fma", "sqrtf", "expf", "exp2f", "logf", "log2f", "powf", "sinf",
    "cosf", "tanf", "tanhf", "fabsf", "floorf", "ceilf", "fminf", "fmaxf", "fmaf", "rsqrtf",
};

static int reserved_prefix(const char *name)
{
    static const char *const prefixes[] = {"__", "get_", "atom_", "atomic_", "sub_group", "as_", "convert_",
                                           "native_", "vload", "vstore", "make_", "simd_"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

/* char2 .. double16 and friends are types in OpenCL and Metal. */
static int vector_type_like(const char *name)
{
    static const char *const elems[] = {"char", "uchar", "short", "ushort", "int", "uint",
                                        "long", "ulong", "float", "double", "half", "bool"};
    for (size_t i = 0; i < sizeof elems / sizeof elems[0]; i++) {
        size_t n = strlen(elems[i]);
        if (strncmp(name, elems[i], n) == 0 && name[n] >= '1' && name[n] <= '9')
            return 1;
    }
    return 0;
}

const char *lang_emit_ident(lang_ctx *ctx, const char *name)
{
    int clash = reserved_prefix(name) || vector_type_like(name) ||
                lang_builtin_lookup(name) != LANG_B_NONE;
    for (size_t i = 0; !clash && i < sizeof reserved_words / sizeof reserved_words[0]; i++)
        clash = strcmp(name, reserved_words[i]) == 0;
    if (!clash)
        return name;
    size_t n = strlen(name);
    char *s = lang_alloc(ctx, n + 8);
    /* The prefix; the next copy brings the terminator. */
    memcpy(s, "kiln_u_", 7); /* NOLINT(bugprone-not-null-terminated-result) */
    memcpy(s + 7, name, n + 1);
    return s;
}
