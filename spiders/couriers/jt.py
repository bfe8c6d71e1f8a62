from spiders.couriers.base import CourierPageSpider


class JtSpider(CourierPageSpider):
    name = "jt"
    courier = "jt"
