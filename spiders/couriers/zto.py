from spiders.couriers.base import CourierPageSpider


class ZtoSpider(CourierPageSpider):
    name = "zto"
    courier = "zto"
