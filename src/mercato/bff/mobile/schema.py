"""The mobile GraphQL schema, schema-first: the SDL below is the contract the phones
query (camelCase fields; every field that reads a service nullable, so a service that
fails nulls its fields and adds an error entry while the rest of the answer stands —
graphql.py names the service). ``resolvers.py`` binds the fields that read a service;
every other field is read from the services' JSON by its snake_case name (ariadne's
``convert_names_case``: ``trackingNumber`` is a shipment's ``tracking_number``)."""

from __future__ import annotations

from ariadne import make_executable_schema
from graphql import GraphQLSchema

from mercato.bff.mobile.resolvers import bindables

TYPE_DEFS = '''
type Cart {
  itemCount: Int!
  total: Int!
  currency: String!
  items: [CartLine!]!
}

type CartLine {
  productId: ID!
  quantity: Int!
  unitPrice: Int
  product: Product
}

type Notification {
  id: ID!
  kind: String!
  subject: String!
  createdAt: String!
  orderId: ID

  """The order the message is about."""
  order: Order
}

type Order {
  id: ID!
  status: String!
  total: Int!
  currency: String!
  createdAt: String!
  items: [OrderLine!]!
  timeline: [TimelineEntry!]!

  """The newest shipment, null while there is none."""
  shipment: Shipment

  """The messages sent about this order, newest first."""
  notifications: [Notification!]
}

type OrderLine {
  productId: ID!
  name: String
  quantity: Int!
  unitPrice: Int!
  product: Product
}

"""A product card: price in minor units of its currency."""
type Product {
  id: ID!
  name: String!
  price: Int!
  currency: String!
  category: String
}

type Query {
  """A few products to show first."""
  featured(limit: Int! = 4): [Product!]
  product(id: ID!): Product

  """The caller's cart."""
  cart: Cart

  """One of the caller's orders; null if not theirs."""
  order(id: ID!): Order

  """The caller's notifications, newest first."""
  notifications(limit: Int! = 20): [Notification!]
}

type Shipment {
  id: ID!
  status: String!
  trackingNumber: String
}

type TimelineEntry {
  status: String!
  at: String!
  reason: String
}
'''


def build_schema() -> GraphQLSchema:
    return make_executable_schema(TYPE_DEFS, *bindables(), convert_names_case=True)
