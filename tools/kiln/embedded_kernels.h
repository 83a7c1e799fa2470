/* The example kernels of examples/kernels, embedded at build time. */
#ifndef KILN_CLI_EMBEDDED_KERNELS_H
#define KILN_CLI_EMBEDDED_KERNELS_H

typedef struct cli_embedded_kernel {
    const char *name;      /* file name without .kc: "saxpy" */
    const char *file_name; /* "saxpy.kc", used in diagnostics */
    const char *source;
} cli_embedded_kernel;

extern const cli_embedded_kernel cli_embedded_kernels[];
extern const unsigned cli_embedded_kernel_count;

/* The embedded kernel file called name, or NULL. */
const cli_embedded_kernel *cli_kernel_find(const char *name);

#endif
