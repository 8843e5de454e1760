import { cursorReply } from "../paginate.js";
import { HttpError, idParam, notFound, route } from "../router.js";

// Webhook deliveries of the App (App JWT only). GitHub lists every attempt,
// redeliveries included (same guid, `redelivery: true`), newest first.

const REDELIVERY_WINDOW_MS = 3 * 24 * 3600 * 1000;

export const deliveryRoutes = [
  route("GET /app/hook/deliveries", "app", (request, context) => {
    const newestFirst = [...context.state.deliveries].sort((a, b) => b.delivered_at.localeCompare(a.delivered_at) || b.id - a.id);
    return cursorReply(context.render.api, request, newestFirst.map((delivery) => context.render.delivery(delivery)));
  }),

  route("POST /app/hook/deliveries/{delivery_id}/attempts", "app", (request, context) => {
    const id = idParam(request, "delivery_id");
    const delivery = context.state.deliveries.find((candidate) => candidate.id === id);
    if (!delivery) throw notFound();
    // GitHub keeps redelivery to the last 3 days; the exact error body is our guess.
    if (context.state.now().getTime() - Date.parse(delivery.delivered_at) > REDELIVERY_WINDOW_MS) {
      throw new HttpError(422, "Validation Failed", { errors: [{ resource: "HookDelivery", field: "delivered_at", code: "invalid", message: "older than 3 days" }] });
    }
    context.state.redeliveryAttempts.push({ deliveryId: id, guid: delivery.guid, at: context.state.timestamp() });
    context.redeliver(delivery);
    return { status: 202, body: {} };
  }),
];
