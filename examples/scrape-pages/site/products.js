// The whole catalogue. A real site would fetch this from a server; pages show five items each.
var PRODUCTS = [
  { sku: 'TEA-001', name: 'Assam Breakfast', category: 'Black tea', price: 6.5 },
  { sku: 'TEA-002', name: 'Darjeeling First Flush', category: 'Black tea', price: 11.0 },
  { sku: 'TEA-003', name: 'Earl Grey', category: 'Black tea', price: 7.25 },
  { sku: 'TEA-004', name: 'Lapsang Souchong', category: 'Black tea', price: 8.0 },
  { sku: 'TEA-005', name: 'Sencha', category: 'Green tea', price: 9.5 },
  { sku: 'TEA-006', name: 'Gyokuro', category: 'Green tea', price: 18.0 },
  { sku: 'TEA-007', name: 'Genmaicha', category: 'Green tea', price: 6.75 },
  { sku: 'TEA-008', name: 'Dragon Well', category: 'Green tea', price: 14.0 },
  { sku: 'TEA-009', name: 'Tie Guan Yin', category: 'Oolong', price: 12.5 },
  { sku: 'TEA-010', name: 'Da Hong Pao', category: 'Oolong', price: 21.0 },
  { sku: 'TEA-011', name: 'Silver Needle', category: 'White tea', price: 19.5 },
  { sku: 'TEA-012', name: 'Rooibos Vanilla', category: 'Herbal', price: 5.5 },
  { sku: 'TEA-013', name: 'Peppermint', category: 'Herbal', price: 4.75 }
];
var PAGE_SIZE = 5;
