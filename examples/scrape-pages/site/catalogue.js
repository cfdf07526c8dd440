// Renders one page of the catalogue (the page number is on <body data-page>) and the
// CSV export, which is built in the page as a Blob, as many web apps do.
(function () {
  var page = Number(document.body.dataset.page);
  var pages = Math.ceil(PRODUCTS.length / PAGE_SIZE);
  var list = document.getElementById('products');
  PRODUCTS.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE).forEach(function (product) {
    var item = document.createElement('li');
    item.className = 'product';
    item.innerHTML = '<h2 class="name"></h2><div class="category"></div><div class="price"></div>';
    item.querySelector('.name').textContent = product.name;
    item.querySelector('.category').textContent = product.category;
    item.querySelector('.price').textContent = '$' + product.price.toFixed(2);
    list.appendChild(item);
  });

  var pager = document.getElementById('pager');
  if (page > 1) {
    pager.insertAdjacentHTML('beforeend', '<a class="previous" href="page-' + (page - 1) + '.html">Previous</a>');
  }
  pager.insertAdjacentHTML('beforeend', '<span class="position">Page ' + page + ' of ' + pages + '</span>');
  if (page < pages) {
    pager.insertAdjacentHTML('beforeend', '<a class="next" href="page-' + (page + 1) + '.html">Next</a>');
  }

  document.getElementById('export').addEventListener('click', function () {
    var lines = ['sku,name,category,price'];
    PRODUCTS.forEach(function (p) {
      lines.push([p.sku, '"' + p.name + '"', p.category, p.price.toFixed(2)].join(','));
    });
    var blob = new Blob([lines.join('\n') + '\n'], { type: 'text/csv' });
    var link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = 'catalogue.csv';
    document.body.appendChild(link);
    link.click();
    link.remove();
  });
})();
