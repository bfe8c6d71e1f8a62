from spiders.couriers.base import CourierPageSpider


class JdSpider(CourierPageSpider):
    name = "jd"
    courier = "jd"
