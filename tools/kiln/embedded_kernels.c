#include <string.h>

#include "embedded_kernels.h"

const cli_embedded_kernel *cli_kernel_find(const char *name)
{
    for (unsigned i = 0; i < cli_embedded_kernel_count; i++)
        if (strcmp(cli_embedded_kernels[i].name, name) == 0)
            return &cli_embedded_kernels[i];
    return NULL;
}
