/* kiln — queues: ordered streams of work on one device. */
#ifndef KILN_QUEUE_H
#define KILN_QUEUE_H

#include "device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_queue kiln_queue;

/* Priority classes; backends with stream priorities map them there. */
typedef enum kiln_priority {
    KILN_PRIORITY_LOW = -1,
    KILN_PRIORITY_NORMAL = 0,
    KILN_PRIORITY_HIGH = 1
} kiln_priority;

KILN_API kiln_status kiln_queue_create(kiln_device *dev, kiln_priority priority, kiln_queue **out);

/* Waits until every command submitted to the queue has finished. In a
 * governed context it returns the first error among the launches that
 * completed since the previous finish, copy or marker on the queue. */
KILN_API kiln_status kiln_queue_finish(kiln_queue *q);

/* Finishes outstanding work, then releases the queue. NULL is accepted. */
KILN_API void kiln_queue_destroy(kiln_queue *q);

#ifdef __cplusplus
}
#endif

#endif
