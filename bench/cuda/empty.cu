/* empty.kc: does nothing; launching it measures a raw launch. */
extern "C" __global__ void empty(void)
{
}
