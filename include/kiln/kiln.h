/* kiln — a GPU compute runtime. The one header to include. */
#ifndef KILN_KILN_H
#define KILN_KILN_H

#include "common.h"
#include "context.h"
#include "device.h"
#include "queue.h"
#include "buffer.h"
#include "host_memory.h"
#include "program.h"
#include "event.h"
#include "launch.h"
#include "session.h"

#endif
