/* A program that uses an installed kiln: lists the devices. */
#include <stdio.h>

#include <kiln/kiln.h>

int main(void)
{
    kiln_context *ctx = NULL;
    if (kiln_context_create(&ctx, NULL) != KILN_OK) {
        fprintf(stderr, "consumer: %s\n", kiln_last_error());
        return 1;
    }
    printf("consumer: kiln %s, %u device(s)\n", kiln_version(), kiln_device_count(ctx));
    int ok = kiln_device_count(ctx) >= 1;
    kiln_context_destroy(ctx);
    return ok ? 0 : 1;
}
