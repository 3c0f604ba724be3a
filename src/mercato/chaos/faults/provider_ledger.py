"""F8's own promises: the card provider's ledger agrees with payments and orders (pure:
the three sets of facts in, the violations of each promise out).

Whether the provider charged one payment twice is not checked here: the simulator keeps
one record per reference and one move per action, so it could not show it (no payment
charged twice is ``mercato verify``'s INV-once, from payments' own records).

Every authorization at the provider is named by our reference, the payment id, which is
derived from the order id (contracts/ids.py), so each is matched to its order even when
payments never stored it (a tombstone: the saga voided it before the late answer came).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mercato.contracts.ids import payment_id

# Paid for: confirmed, and every status after it (verify's FULFILLED).
FULFILLED = ("confirmed", "shipped", "delivered")


@dataclass
class LedgerViolations:
    money: list[str] = field(default_factory=list)  # INV-money: captures vs orders
    held: list[str] = field(default_factory=list)  # INV-term: held for an ended order


def compare(authorizations: list[dict], payments: list[dict],
            orders: list[dict]) -> LedgerViolations:
    """``authorizations``: the provider's ledger (``GET /ledger``); ``payments`` and
    ``orders``: their ``mercato verify`` facts."""
    out = LedgerViolations()
    ours = {p["payment_id"]: p for p in payments}
    order_of = {payment_id(o["order_id"]): o for o in orders}
    for a in authorizations:
        ref, status = a["reference"], a["status"]
        order, payment = order_of.get(ref), ours.get(ref)
        if order is None:
            if status in ("authorized", "captured"):
                out.held.append(f"{ref}: {status} at the provider for no order")
            continue
        where = f"{ref} (order {order['order_id']} {order['status']})"
        if status == "captured":
            if order["status"] not in FULFILLED:
                out.money.append(f"{where}: captured at the provider, not refunded")
            elif payment is None or payment["status"] != "captured":
                out.money.append(f"{where}: captured at the provider, payments says "
                                 f"{payment and payment['status']}")
            elif not a["amount"] == payment["amount"] == order["total"]:
                out.money.append(f"{where}: captured {a['amount']}, payment "
                                 f"{payment['amount']}, order total {order['total']}")
        elif status == "authorized" and order["status"] in (*FULFILLED, "cancelled"):
            out.held.append(f"{where}: authorization still open at the provider")
        elif status == "refunded" and order["status"] in FULFILLED:
            out.money.append(f"{where}: refunded at the provider for a {order['status']} "
                             "order")
        if payment is not None and payment["status"] == "captured" and status != "captured":
            out.money.append(f"{where}: payments says captured, the provider {status}")
    return out
